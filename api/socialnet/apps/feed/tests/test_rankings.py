"""GET /feed/recommended/ and GET /feed/trending/: candidates, scoring, reasons, visibility, cursors, queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.feed import ranking, selectors, services
from apps.follows.models import Follow
from apps.interactions.tests.factories import LikeFactory
from apps.posts.models import Post
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import UserFactory

from .factories import with_avatar, with_image

pytestmark = pytest.mark.django_db


def like(post, *users):
    for u in users:
        LikeFactory(user=u, post=post)
    Post.objects.filter(pk=post.pk).update(likes_count=F("likes_count") + len(users))


def follow(follower, *followees):
    for f in followees:
        Follow.objects.create(follower=follower, followee=f)


def age(post, **delta):
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(**delta))


def recommended(client, **params):
    response = client.get("/feed/recommended/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_liked_by_people_you_follow_outranks_liked_by_strangers(client_for, user):
    followees = UserFactory.create_batch(3)
    strangers = UserFactory.create_batch(3)
    follow(user, *followees)
    social = PostFactory()
    anonymous = PostFactory()
    like(anonymous, *strangers)  # created second: it would win a tie on recency
    like(social, *followees)
    results = recommended(client_for(user))
    ids = [p["id"] for p in results]
    assert ids.index(social.pk) < ids.index(anonymous.pk)
    reasons = {p["id"]: p["reason"] for p in results}
    assert reasons[social.pk] == "liked_by_following"
    assert reasons[anonymous.pk] == "trending"


def test_day_old_post_decays_below_fresh_one_of_equal_engagement(client_for, user):
    friend, a, b = UserFactory(), UserFactory(), UserFactory()
    follow(user, friend)
    old, fresh = PostFactory(), PostFactory()
    for post in (old, fresh):
        like(post, friend, a, b)
    age(old, days=1)
    ids = [p["id"] for p in recommended(client_for(user))]
    assert ids == [fresh.pk, old.pk]


def test_comments_weigh_more_and_have_their_own_reason(client_for, user):
    from apps.comments.tests.factories import CommentFactory

    friend = UserFactory()
    follow(user, friend)
    post = PostFactory()
    CommentFactory(post=post, author=friend)
    Post.objects.filter(pk=post.pk).update(comments_count=1)
    results = recommended(client_for(user))
    assert [(p["id"], p["reason"]) for p in results] == [(post.pk, "commented_by_following")]


def test_authors_you_interact_with(client_for, user):
    author = UserFactory()
    liked_before = PostFactory(author=author)
    like(liked_before, user)
    new = PostFactory(author=author)
    results = recommended(client_for(user))
    assert [(p["id"], p["reason"]) for p in results] == [(new.pk, "author_you_interact_with")]


def test_own_invisible_removed_and_already_liked_never_appear(client_for, user):
    friend, hidden_author = UserFactory(), UserFactory()
    follow(user, friend)
    own = PostFactory(author=user)
    invisible = PostFactory(author=hidden_author, visibility=Post.Visibility.FOLLOWERS)
    removed = PostFactory()
    already = PostFactory()
    old = PostFactory()
    good = PostFactory()
    for post in (own, invisible, removed, already, old, good):
        like(post, friend)
    like(already, user)
    Post.objects.filter(pk=removed.pk).update(removed_at=timezone.now())
    age(old, days=30)  # outside the candidate window
    assert [p["id"] for p in recommended(client_for(user))] == [good.pk]


def test_premium_posts_are_listed_locked(client_for, user):
    friend = UserFactory()
    follow(user, friend)
    post = PostFactory(text="paid words", visibility=Post.Visibility.PREMIUM)
    like(post, friend)
    results = recommended(client_for(user))
    assert results[0]["id"] == post.pk
    assert results[0]["locked"] is True
    assert results[0]["text"] == ""
    assert "paid words" not in str(results)


def test_recommended_needs_a_token(api_client):
    assert api_client.get("/feed/recommended/").status_code == 401


def test_recommended_cursor_walks_every_item_once(client_for, user):
    friends = UserFactory.create_batch(3)
    follow(user, *friends)
    posts = PostFactory.create_batch(5)
    for i, post in enumerate(posts):
        like(post, *friends[: 1 + i % 3])
    client, seen, url = client_for(user), [], "/feed/recommended/?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(p.pk for p in posts)
    assert len(seen) == 5


@pytest.mark.parametrize("cursor", ["garbage", "bm90OmEtbnVtYmVy", "aW5mOjE"])  # "" is the first page, as everywhere
def test_bad_cursor_is_a_400(client_for, user, cursor):
    assert client_for(user).get("/feed/recommended/", {"cursor": cursor}).status_code == 400
    assert client_for(user).get("/feed/trending/", {"cursor": cursor}).status_code == 400


@pytest.mark.parametrize("page_size", ["0", "101", "abc"])
def test_bad_page_size_is_a_400(client_for, user, page_size):
    assert client_for(user).get("/feed/recommended/", {"page_size": page_size}).status_code == 400
    assert client_for(user).get("/feed/trending/", {"page_size": page_size}).status_code == 400


def test_recommended_query_count_is_constant(client_for, user, django_assert_num_queries):
    friend = UserFactory()
    follow(user, friend)
    client = client_for(user)
    like(PostFactory(), friend)
    services.trending_refresh()  # the periodic task's job, not the request's
    with CaptureQueriesContext(connection) as one:
        assert len(recommended(client, page_size=1)) == 1
    for post in PostFactory.create_batch(60, visibility=Post.Visibility.PREMIUM):
        with_avatar(post.author)
        with_image(post)
        like(post, friend)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(recommended(client, page_size=50)) == 50


# --- trending -----------------------------------------------------------------------------------------------------
def test_trending_is_public_and_ranked_by_engagement(api_client):
    likers = UserFactory.create_batch(3)
    quiet, loud, middle = PostFactory(), PostFactory(), PostFactory()
    like(loud, *likers)
    like(middle, *likers[:2])
    old = PostFactory()
    like(old, *likers)
    age(old, hours=25)
    friends_only = PostFactory(visibility=Post.Visibility.FOLLOWERS)
    like(friends_only, *likers)
    response = api_client.get("/feed/trending/")
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [loud.pk, middle.pk]
    assert quiet.pk  # no engagement: not trending


def test_trending_is_cached_and_refreshed_by_the_task(api_client):
    liker = UserFactory()
    first = PostFactory()
    like(first, liker)
    assert [p["id"] for p in api_client.get("/feed/trending/").json()["results"]] == [first.pk]
    second = PostFactory()
    like(second, liker, UserFactory())
    # Served from the cache until the periodic refresh runs.
    assert [p["id"] for p in api_client.get("/feed/trending/").json()["results"]] == [first.pk]
    from apps.feed.tasks import trending_refresh_task

    trending_refresh_task.apply()
    assert [p["id"] for p in api_client.get("/feed/trending/").json()["results"]] == [second.pk, first.pk]


def test_trending_never_leaks_premium_or_deleted_content(api_client, client_for, premium_user):
    liker = UserFactory()
    post = PostFactory(text="members only", visibility=Post.Visibility.PREMIUM)
    like(post, liker)
    gone = PostFactory()
    like(gone, liker)
    services.trending_refresh()
    gone.delete()
    body = api_client.get("/feed/trending/").json()["results"]
    assert [(p["id"], p["locked"], p["text"]) for p in body] == [(post.pk, True, "")]
    premium = client_for(premium_user).get("/feed/trending/").json()["results"]
    assert premium[0]["text"] == "members only"


def test_trending_with_the_cache_down_is_computed_inline(api_client, settings):
    liker = UserFactory()
    post = PostFactory()
    like(post, liker)
    settings.CACHES = {
        "default": {
            "BACKEND": "apps.common.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    assert selectors.trending_entries()[0][1] == post.pk


def test_trending_query_count_is_constant(api_client, django_assert_num_queries):
    liker = UserFactory()
    like(PostFactory(), liker)
    services.trending_refresh()
    with CaptureQueriesContext(connection) as one:
        assert len(api_client.get("/feed/trending/?page_size=1").json()["results"]) == 1
    for post in PostFactory.create_batch(60):
        with_avatar(post.author)
        with_image(post)
        like(post, liker)
    services.trending_refresh()
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(api_client.get("/feed/trending/?page_size=50").json()["results"]) == 50


def test_scores_do_not_drift_with_time():
    """The property the cursor relies on: ordering by log score equals ordering by engagement x decay."""
    now = timezone.now()
    a = ranking.log_score(likes=10, comments=0, views=0, created_at=now - timedelta(hours=20))
    b = ranking.log_score(likes=1, comments=0, views=0, created_at=now)
    half_life = 12.0
    decayed_a = ranking.engagement(likes=10, comments=0, views=0) * 0.5 ** (20 / half_life)
    decayed_b = ranking.engagement(likes=1, comments=0, views=0)
    assert (a > b) == (decayed_a > decayed_b)
