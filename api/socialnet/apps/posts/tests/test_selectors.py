"""The visibility rule as other features use it: a composable queryset with `is_locked` and `liked_by_me`."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from apps.follows.models import Follow
from apps.posts.models import Post
from apps.posts.selectors import post_get_unlocked, post_get_visible, post_visible_queryset
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def posts(user):
    return {v: post_create(author=user, text=v, visibility=v) for v in Post.Visibility.values}


def visible(viewer, posts):
    rows = post_visible_queryset(viewer=viewer).filter(pk__in=[p.pk for p in posts.values()])
    return {p.text: (p.is_locked, p.liked_by_me) for p in rows}


def test_anonymous(posts):
    assert visible(AnonymousUser(), posts) == {"public": (False, False), "premium": (True, False)}


def test_regular_user_then_follower(posts, user, other_user):
    assert visible(other_user, posts) == {"public": (False, False), "premium": (True, False)}
    Follow.objects.create(follower=other_user, followee=user)
    other_user.likes.create(post=posts["public"])  # the relation interactions declares (posts sits below it)
    assert visible(other_user, posts) == {
        "public": (False, True),
        "premium": (True, False),
        "followers": (False, False),
    }


@pytest.mark.parametrize("kind", ["premium", "moderator", "admin"])
def test_premium_and_staff_see_premium_unlocked(posts, kind):
    viewer = UserFactory(**{kind: True})
    assert visible(viewer, posts) == {"public": (False, False), "premium": (False, False)}


def test_author_sees_everything_unlocked(posts, user):
    assert visible(user, posts) == {"public": (False, False), "premium": (False, False), "followers": (False, False)}


def test_following_someone_else_does_not_open_followers_posts(posts, other_user):
    Follow.objects.create(follower=other_user, followee=UserFactory())
    assert "followers" not in visible(other_user, posts)


def test_get_visible_and_unlocked(posts, other_user):
    assert post_get_visible(viewer=other_user, post_id=posts["premium"].pk).is_locked is True
    with pytest.raises(Http404):
        post_get_visible(viewer=other_user, post_id=posts["followers"].pk)
    with pytest.raises(Exception, match="premium"):
        post_get_unlocked(viewer=other_user, post_id=posts["premium"].pk)
    assert post_get_unlocked(viewer=other_user, post_id=posts["public"].pk).pk == posts["public"].pk


def test_query_count_does_not_depend_on_the_number_of_posts(posts, user, other_user):
    def run():
        with CaptureQueriesContext(connection) as ctx:
            rows = list(post_visible_queryset(viewer=other_user).order_by("-id"))
            assert [r.author.username for r in rows]  # author joined, not fetched per post
            assert [(r.is_locked, r.liked_by_me) for r in rows]
        return len(ctx), len(rows)

    few = run()
    for i in range(20):
        post_create(author=UserFactory() if i % 2 else user, text=f"more {i}", visibility="premium")
    many = run()
    assert many[1] == few[1] + 20
    assert many[0] == few[0]
