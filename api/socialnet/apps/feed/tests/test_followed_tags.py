"""Followed tags: their public posts are merged into the home feed at read time (never fanned out), through the
visibility rule, with a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.posts.services import post_create
from apps.safety.services import block_create, mute_set
from apps.tags.models import Tag
from apps.tags.services import tag_follow, tag_unfollow
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def home_ids(client):
    response = client.get("/feed/")
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def test_public_posts_with_followed_tags_enter_the_home_feed(client_for, user):
    stranger, blocked, muted = UserFactory(), UserFactory(), UserFactory()
    public = post_create(author=stranger, text="#Birds at dawn")
    post_create(author=stranger, text="#birds for followers", visibility="followers")
    post_create(author=stranger, text="#birds premium", visibility="premium")
    post_create(author=stranger, text="no tag")
    post_create(author=blocked, text="#birds blocked")
    post_create(author=muted, text="#birds muted")
    block_create(blocker=blocked, blocked=user)
    mute_set(muter=user, muted=muted)
    mine = post_create(author=user, text="my own")
    client = client_for(user)
    assert home_ids(client) == [mine.pk]

    tag_follow(user=user, tag=Tag.objects.get(key="birds"))
    assert home_ids(client) == [mine.pk, public.pk]
    later = post_create(author=UserFactory(), text="#BIRDS again")
    assert home_ids(client) == [later.pk, mine.pk, public.pk]


def test_home_query_count_does_not_grow_with_followed_tags(client_for, user, django_assert_num_queries):
    client = client_for(user)
    post_create(author=UserFactory(), text="#t0")
    tag_follow(user=user, tag=Tag.objects.get(key="t0"))
    home_ids(client)  # the first read prepares the stored timeline: compare warm reads
    with CaptureQueriesContext(connection) as one:
        assert len(home_ids(client)) == 1
    for i in range(1, 30):
        post_create(author=UserFactory(), text=f"#t{i}")
        tag_follow(user=user, tag=Tag.objects.get(key=f"t{i}"))
    with django_assert_num_queries(len(one)):
        assert len(home_ids(client)) == 20


def test_a_reader_who_follows_no_tag_costs_no_tag_query(client_for, user):
    """The counter on the reader's row (loaded with the token) spares the followed-tag query; following a tag adds
    exactly that query, unfollowing the last one takes it away again."""
    tagged = post_create(author=UserFactory(), text="#t0")
    mine = post_create(author=user, text="my own")
    tag = Tag.objects.get(key="t0")
    client = client_for(user)
    home_ids(client)  # the first read prepares the stored timeline: compare warm reads
    with CaptureQueriesContext(connection) as none:
        assert home_ids(client) == [mine.pk]
    tag_follow(user=user, tag=tag)
    with CaptureQueriesContext(connection) as one:
        assert home_ids(client) == [mine.pk, tagged.pk]
    assert len(one) == len(none) + 1
    tag_unfollow(user=user, tag=tag)
    with CaptureQueriesContext(connection) as again:
        assert home_ids(client) == [mine.pk]
    assert len(again) == len(none)
