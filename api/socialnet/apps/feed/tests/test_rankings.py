"""GET /feed/recommended/ and GET /feed/trending/: candidates, scoring, reasons, visibility, cursors, queries."""

import pickle
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common.redis import redis_client
from apps.feed import ranking, selectors, services
from apps.feed.timeline import recommended_key, timeline_client
from apps.follows.models import Follow
from apps.interactions.tests.factories import LikeFactory
from apps.posts.models import Post
from apps.posts.tests.factories import PostFactory
from apps.safety.selectors import safety_sets_rebuild
from apps.users.tests.factories import UserFactory

from .factories import redis_reads, with_avatar, with_image

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
    """Whatever the page size and the number of candidates: computing the ranking and reading a page costs a fixed
    number of queries, and so does a page read from the cached ranking."""
    friend = UserFactory()
    follow(user, friend)
    client = client_for(user)
    like(PostFactory(), friend)
    services.trending_refresh()  # the periodic task's job, not the request's
    with CaptureQueriesContext(connection) as computed:
        assert len(recommended(client, page_size=1)) == 1
    with CaptureQueriesContext(connection) as cached:
        assert len(recommended(client, page_size=1)) == 1
    for post in PostFactory.create_batch(60, visibility=Post.Visibility.PREMIUM):
        with_avatar(post.author)
        with_image(post)
        like(post, friend)
    forget_ranking(user)  # as if the stored ranking had expired
    with django_assert_num_queries(len(computed.captured_queries)):
        assert len(recommended(client, page_size=50)) == 50
    with django_assert_num_queries(len(cached.captured_queries)):
        assert len(recommended(client, page_size=50)) == 50


# --- the cached "for you" ranking ---------------------------------------------------------------------------------
def ids(results):
    return [p["id"] for p in results]


def ranked_posts(viewer, count):
    """`count` posts by different authors, each liked by someone `viewer` follows, ranked in creation order (the
    first has the most likes)."""
    friend = UserFactory()
    follow(viewer, friend)
    posts = PostFactory.create_batch(count)
    for i, post in enumerate(posts):
        like(post, friend, *UserFactory.create_batch(count - i))
    return posts


def forget_ranking(viewer):
    timeline_client().delete(recommended_key(viewer.pk))


def newcomer(viewer):
    """A post that would top `viewer`'s ranking if it were computed now: its absence shows the cached one served."""
    friends = UserFactory.create_batch(3)
    follow(viewer, *friends)
    post = PostFactory()
    like(post, *friends, *UserFactory.create_batch(30))
    return post


@pytest.mark.usefixtures("timeline_backend")
def test_the_ranking_is_computed_once_and_serves_every_page_from_the_cache(client_for, user, settings):
    posts = ranked_posts(user, 3)
    services.trending_refresh()
    client = client_for(user)
    with CaptureQueriesContext(connection) as computing:
        selectors.recommended_compute(viewer=user, trending=services.trending_ranking())
    with CaptureQueriesContext(connection) as first:
        results = recommended(client)
    assert [(p["id"], p["reason"]) for p in results] == [(p.pk, "liked_by_following") for p in posts]
    fresh = newcomer(user)
    with CaptureQueriesContext(connection) as again:  # a refresh of the first page
        assert recommended(client) == results
    # Nothing of the computation ran again: the page cost only its own queries.
    assert len(again.captured_queries) == len(first.captured_queries) - len(computing.captured_queries)
    assert 0 < timeline_client().ttl(recommended_key(user.pk)) <= settings.FEED_RECOMMEND_CACHE_SECONDS
    # Once it is gone (expired, or the reader followed someone) the next page computes a new one.
    forget_ranking(user)
    assert ids(recommended(client))[0] == fresh.pk


def test_no_cache_lifetime_computes_every_page(client_for, user, settings):
    settings.FEED_RECOMMEND_CACHE_SECONDS = 0
    posts = ranked_posts(user, 2)
    client = client_for(user)
    assert ids(recommended(client)) == [p.pk for p in posts]
    fresh = newcomer(user)
    assert ids(recommended(client)) == [fresh.pk, *(p.pk for p in posts)]


def test_cursor_walks_the_cached_ranking_while_scores_change(client_for, user):
    posts = ranked_posts(user, 7)
    client, seen, url = client_for(user), [], "/feed/recommended/?page_size=2"
    while url:
        body = client.get(url).json()
        seen += ids(body["results"])
        url = body["next"]
        # Meanwhile engagement reorders what a new computation would rank; the walk keeps to the cached ranking.
        like(posts[-1], *UserFactory.create_batch(5))
        newcomer(user)
    assert seen == [p.pk for p in posts]


def _hide(how, *, client, client_for, posts):
    """Hide `posts` from the viewer of `client` the way `how` says, through the API."""
    if how == "filtered":
        Post.objects.filter(pk__in=[p.pk for p in posts]).update(text="big spoiler inside")
        assert client.post("/filters/", {"phrase": "spoiler", "context": ["home"]}, format="json").status_code == 201
        return
    for post in posts:
        author = post.author
        if how == "liked":
            response = client.post(f"/posts/{post.pk}/like/")
        elif how == "blocked":
            response = client.post(f"/users/{author.username}/block/")
        elif how == "muted":
            response = client.post(f"/users/{author.username}/mute/", {"notifications": False}, format="json")
        elif how == "deleted":
            response = client_for(author).delete(f"/posts/{post.pk}/")
        else:  # "private": the viewer does not follow the author
            response = client_for(author).patch("/users/me/", {"is_private": True}, format="json")
        assert response.status_code < 300, response.content


@pytest.mark.parametrize("how", ["liked", "blocked", "muted", "filtered", "deleted", "private"])
def test_posts_hidden_after_caching_leave_the_next_page_which_stays_full(client_for, user, how):
    posts = ranked_posts(user, 8)
    client = client_for(user)
    assert ids(recommended(client, page_size=4)) == [p.pk for p in posts[:4]]  # the ranking is now cached
    fresh = newcomer(user)
    _hide(how, client=client, client_for=client_for, posts=[posts[0], posts[2]])
    body = client.get("/feed/recommended/", {"page_size": 4}).json()
    # Still the cached ranking (the newcomer is not there), minus the hidden posts, and four items all the same.
    assert ids(body["results"]) == [posts[1].pk, *(p.pk for p in posts[3:6])]
    assert fresh.pk not in ids(body["results"])
    assert ids(client.get(body["next"]).json()["results"]) == [p.pk for p in posts[6:]]


def test_with_timelines_on_the_shared_redis_a_page_reads_the_ranking_with_the_safety_sets(
    client_for, user, settings, monkeypatch
):
    settings.FEED_REDIS_URL = ""  # timelines on REDIS_URL, beside the sets (a separate store is read on its own)
    posts = ranked_posts(user, 2)
    client = client_for(user)
    assert ids(recommended(client)) == [p.pk for p in posts]  # computed and stored
    safety_sets_rebuild(user_id=user.pk)
    sets, ranking_key = f"safety:sets:{user.pk}", recommended_key(user.pk)
    reads = redis_reads(monkeypatch, sets, ranking_key)
    assert ids(recommended(client)) == [p.pk for p in posts]
    assert reads == [("MGET", sets, ranking_key)]


def test_a_page_with_hidden_posts_reads_once_more_at_most_and_skips_nothing(client_for, user):
    """A page reads its own entries; only when some are hidden now does it read twice what it lacks (one more
    query). A page filled by that second read ends at its last post; one still short ends where it stopped
    reading. Either way the next page starts there, and nothing is skipped or shown twice."""
    posts = ranked_posts(user, 10)
    client = client_for(user)
    with CaptureQueriesContext(connection) as full:
        assert ids(recommended(client, page_size=4)) == [p.pk for p in posts[:4]]  # the ranking is now cached
    with CaptureQueriesContext(connection) as cached:
        assert ids(recommended(client, page_size=4)) == [p.pk for p in posts[:4]]
    # Counted now: every request empties the connection's query log that a capture reads.
    full_count, cached_count = len(full.captured_queries), len(cached.captured_queries)
    assert cached_count < full_count
    for i in (0, 1, 2, 4, 5):
        like(posts[i], user)
    with CaptureQueriesContext(connection) as refilled:  # reads 0-3 (one shown), then 4-9 (three of them shown)
        body = client.get("/feed/recommended/", {"page_size": 4}).json()
    assert ids(body["results"]) == [p.pk for p in (posts[3], posts[6], posts[7], posts[8])]
    assert len(refilled.captured_queries) == cached_count + 1
    assert ids(client.get(body["next"]).json()["results"]) == [posts[9].pk]
    for i in (6, 7):
        like(posts[i], user)
    with CaptureQueriesContext(connection) as short:  # reads 0-3 (one shown), then 4-9 (two shown)
        body = client.get("/feed/recommended/", {"page_size": 4}).json()
    assert ids(body["results"]) == [posts[3].pk, posts[8].pk, posts[9].pk]
    assert len(short.captured_queries) == cached_count + 1
    assert body["next"] is None


@pytest.mark.usefixtures("timeline_backend")
def test_following_someone_drops_the_cached_ranking(client_for, user, oncommit):
    from apps.follows.services import follow_create, follow_delete

    posts = ranked_posts(user, 2)
    client = client_for(user)
    assert ids(recommended(client)) == [p.pk for p in posts]
    tastemaker = UserFactory()
    liked = PostFactory()
    like(liked, tastemaker)
    with oncommit(execute=True):
        follow_create(follower=user, followee=tastemaker)
    results = recommended(client)
    assert (results[-1]["id"], results[-1]["reason"]) == (liked.pk, "liked_by_following")
    with oncommit(execute=True):
        follow_delete(follower=user, followee=tastemaker)
    assert ids(recommended(client)) == [p.pk for p in posts]  # a stranger's like now


@pytest.mark.parametrize("stored", [b"not a ranking", bytes(16) + b"\xff"], ids=["truncated", "unknown reason"])
def test_an_unreadable_stored_ranking_is_computed_again(client_for, user, stored):
    posts = ranked_posts(user, 2)
    timeline_client().set(recommended_key(user.pk), stored)
    assert ids(recommended(client_for(user))) == [p.pk for p in posts]


@pytest.mark.parametrize("redis_url", ["redis://127.0.0.1:1/0", ""], ids=["redis down", "embedded mode"])
def test_recommended_without_redis_is_computed_inline(client_for, user, settings, redis_url):
    posts = ranked_posts(user, 3)
    settings.REDIS_URL = settings.FEED_REDIS_URL = redis_url
    if redis_url:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        }
    client = client_for(user)
    assert ids(recommended(client, page_size=2)) == [p.pk for p in posts[:2]]
    fresh = newcomer(user)
    assert ids(recommended(client, page_size=2)) == [fresh.pk, posts[0].pk]  # nothing kept: computed again


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


@pytest.mark.parametrize("redis_url", ["redis://127.0.0.1:1/0", ""], ids=["redis down", "embedded mode"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "token"])
def test_trending_without_redis_is_computed_inline(api_client, client_for, user, settings, redis_url, signed_in):
    liker = UserFactory()
    post = PostFactory()
    like(post, liker)
    settings.REDIS_URL = redis_url
    client = client_for(user) if signed_in else api_client
    assert [p["id"] for p in client.get("/feed/trending/").json()["results"]] == [post.pk]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "token"])
@pytest.mark.parametrize(
    "stored", [b"not a ranking", pickle.dumps([(1.0, 1)])], ids=["truncated", "another format (v2, pickled)"]
)
def test_an_unreadable_stored_trending_is_computed_again(api_client, client_for, user, stored, signed_in):
    post = PostFactory()
    like(post, UserFactory())
    redis_client().set(ranking.TRENDING_KEY, stored)
    client = client_for(user) if signed_in else api_client
    assert [p["id"] for p in client.get("/feed/trending/").json()["results"]] == [post.pk]
    assert ranking.RankedEntries.unpacked(redis_client().get(ranking.TRENDING_KEY))[0][1] == post.pk  # stored again


def test_a_trending_page_reads_the_ranking_with_the_viewers_safety_sets(client_for, user, monkeypatch):
    """One Redis round trip brings both what a trending page's query needs: the ranking and the viewer's block and
    mute sets."""
    like(PostFactory(), UserFactory())
    services.trending_refresh()
    safety_sets_rebuild(user_id=user.pk)
    client = client_for(user)
    sets = f"safety:sets:{user.pk}"
    reads = redis_reads(monkeypatch, sets, ranking.TRENDING_KEY)
    assert len(client.get("/feed/trending/").json()["results"]) == 1
    assert reads == [("MGET", sets, ranking.TRENDING_KEY)]


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
