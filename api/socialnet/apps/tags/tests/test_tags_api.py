"""Tag endpoints: detail, timeline (THE visibility rule, premium locked, mutes and filters), trending, follow;
a leak matrix over response bodies, bad names, and a constant query count."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.follows.services import follow_create
from apps.posts.services import post_create, post_update
from apps.safety.services import block_create, keyword_filter_create, mute_set
from apps.tags.models import Tag, TagFollow
from apps.tags.selectors import TRENDING_CACHE_KEY
from apps.tags.services import tag_follow
from apps.tags.tasks import tags_counters_recount_task, trending_tags_refresh_task
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def followed_tags_count(user) -> int:
    return User.objects.values_list("followed_tags_count", flat=True).get(pk=user.pk)


def test_backfill_migration_counts_the_follows_made_before_the_counter(user, other_user):
    post_create(author=other_user, text="#one #two #three")
    for key in ("one", "two", "three"):
        tag_follow(user=user, tag=Tag.objects.get(key=key))
    tag_follow(user=other_user, tag=Tag.objects.get(key="one"))
    User.objects.update(followed_tags_count=0)  # as when the column was added
    backfill = importlib.import_module("apps.tags.migrations.0003_followed_tags_count_backfill")
    backfill.forwards(django_apps, None)
    assert (followed_tags_count(user), followed_tags_count(other_user)) == (3, 1)


def test_the_hourly_recount_repairs_a_drifted_followed_tags_counter(user, other_user):
    post_create(author=other_user, text="#one #two")
    for key in ("one", "two"):
        tag_follow(user=user, tag=Tag.objects.get(key=key))
    # Written around the services (bulk loading, manual SQL): the reader's home feed would skip their tags.
    TagFollow.objects.create(user=other_user, tag=Tag.objects.get(key="one"))
    User.objects.filter(pk=user.pk).update(followed_tags_count=7)
    assert tags_counters_recount_task() == 2
    assert (followed_tags_count(user), followed_tags_count(other_user)) == (2, 1)
    assert "apps.tags.tasks.tags_counters_recount_task" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def timeline(client, name="news"):
    response = client.get(f"/tags/{name}/posts/")
    assert response.status_code == 200, response.content
    return response


def test_detail_counts_only_what_you_may_see(api_client, client_for, user, other_user):
    post_create(author=user, text="#News one")
    post_create(author=user, text="#news two", visibility="followers")
    assert api_client.get("/tags/NEWS/").json() == {"name": "News", "posts_count": 1, "following": False}
    assert client_for(user).get("/tags/news/").json()["posts_count"] == 2
    assert api_client.get("/tags/never_used/").status_code == 404
    assert api_client.get("/tags/never_used/posts/").status_code == 404
    post_create(author=user, text="#lonely", visibility="followers")
    assert timeline(api_client, "lonely").json()["results"] == []  # used, nothing to show you: an empty page


@pytest.mark.parametrize("name", ["123", "a-b", "x" * 101, "%F0%9F%98%80", "%20", "a%00b", "..", "a.b"])
def test_odd_names_are_404_not_500(api_client, client_for, user, name):
    for path in (f"/tags/{name}/", f"/tags/{name}/posts/"):
        assert 400 <= api_client.get(path).status_code < 500
    assert 400 <= client_for(user).post(f"/tags/{name}/follow/").status_code < 500


def test_timeline_leak_matrix(api_client, client_for, user, premium_user):
    """Each post carries a unique secret word; whoever may not read a post's content finds none of it."""
    reader, follower, blocked, muted, filtered, private = (UserFactory() for _ in range(6))
    private.is_private = True
    private.save(update_fields=["is_private"])
    follow_create(follower=follower, followee=user)
    posts = {
        "public": post_create(author=user, text="#news publicword"),
        "premium": post_create(author=user, text="#news premiumword", visibility="premium"),
        "followers": post_create(author=user, text="#news followersword", visibility="followers"),
        "private": post_create(author=private, text="#news privateword"),
        "blocked": post_create(author=blocked, text="#news blockedword"),
        "muted": post_create(author=muted, text="#news mutedword"),
        "filtered": post_create(author=filtered, text="#news filteredword"),
    }
    block_create(blocker=reader, blocked=blocked)
    mute_set(muter=reader, muted=muted)
    keyword_filter_create(owner=reader, data={"phrase": "filteredword", "context": ["public"]})

    def seen(client):
        body = timeline(client).content.decode()
        return {
            word
            for word in ("public", "premium", "followers", "private", "blocked", "muted", "filtered")
            if f"{word}word" in body
        }

    assert seen(api_client) == {"public", "blocked", "muted", "filtered"}
    assert seen(client_for(reader)) == {"public"}
    assert seen(client_for(follower)) == {"public", "followers", "blocked", "muted", "filtered"}
    assert seen(client_for(premium_user)) == {"public", "premium", "blocked", "muted", "filtered"}
    assert seen(client_for(user)) == {"public", "premium", "followers", "blocked", "muted", "filtered"}
    # The premium post is listed, locked, without its tags or words.
    locked = [p for p in timeline(api_client).json()["results"] if p["id"] == posts["premium"].pk]
    assert locked[0]["locked"] is True and locked[0]["tags"] == [] and locked[0]["text"] == ""
    assert client_for(reader).get("/tags/news/").json()["posts_count"] == 2  # public + premium (locked)


def test_edits_move_posts_between_timelines(api_client, user):
    post = post_create(author=user, text="#old")
    post_update(post=post, actor=user, text="#new")
    assert timeline(api_client, "old").json()["results"] == []
    assert [p["id"] for p in timeline(api_client, "new").json()["results"]] == [post.pk]


def test_timeline_query_count_is_constant_and_that_of_posts(client_for, user, django_assert_num_queries):
    client = client_for(user)
    post_create(author=UserFactory(), text="#news first")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/tags/news/posts/?page_size=50").json()["results"]) == 1
    with django_assert_num_queries(len(one)):
        client.get("/posts/?page_size=50")
    for i in range(49):
        post_create(author=UserFactory(), text=f"#news #more{i} @{user.username}")
    with django_assert_num_queries(len(one)):
        assert len(client.get("/tags/news/posts/?page_size=50").json()["results"]) == 50


def test_trending_counts_distinct_authors_of_public_posts(api_client, user, other_user):
    third = UserFactory()
    for _ in range(3):
        post_create(author=user, text="#solo")
    post_create(author=user, text="#crowd")
    post_create(author=other_user, text="#Crowd")
    post_create(author=third, text="#crowd")
    post_create(author=third, text="#hidden", visibility="followers")
    post_create(author=third, text="#hidden", visibility="premium")
    trending_tags_refresh_task.delay()
    assert cache.get(TRENDING_CACHE_KEY) is not None
    body = api_client.get("/tags/trending/").json()
    assert body == [
        {"name": "crowd", "posts_count": 3, "accounts_count": 3},
        {"name": "solo", "posts_count": 3, "accounts_count": 1},
    ]


def test_follow_and_unfollow(api_client, client_for, user, other_user):
    post_create(author=other_user, text="#Cats")
    client = client_for(user)
    first = client.post("/tags/cats/follow/")
    assert (first.status_code, first.json()["following"], first.json()["name"]) == (201, True, "Cats")
    assert client.post("/tags/CATS/follow/").status_code == 200
    assert TagFollow.objects.filter(user=user).count() == 1
    assert followed_tags_count(user) == 1  # a repeated follow counts once
    assert client.get("/tags/cats/").json()["following"] is True
    assert client.delete("/tags/cats/follow/").status_code == 204
    assert client.delete("/tags/cats/follow/").status_code == 204
    assert not TagFollow.objects.exists()
    assert followed_tags_count(user) == 0  # a repeated unfollow uncounts once
    assert api_client.post("/tags/cats/follow/").status_code == 401
    assert client.post("/tags/dogs/follow/").status_code == 404
