"""GET /feed/: fan-out on write into Redis, backfill/unmerge/purge, celebrity merge, inactive users, the database
fallback, cursor pagination and visibility. Tasks run eagerly here (test_worker.py runs them on a real worker)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common.pagination import IdWindow
from apps.common.redis import redis_client
from apps.feed import selectors, services, tasks
from apps.feed.timeline import SENTINEL, celebrities_key, timeline_client, timeline_key
from apps.follows.models import Follow
from apps.posts.models import Post
from apps.posts.tests.factories import PostFactory
from apps.safety.selectors import safety_sets_key, safety_sets_rebuild
from apps.safety.services import mute_set

from .factories import delete, follow, publish, redis_reads, unfollow, with_avatar, with_image

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"
# Runs the test once on a single Redis and once on a Redis Cluster (backends.py): the tests whose writes name
# several users' timelines or markers, where a cluster differs.
on_each_store = pytest.mark.usefixtures("timeline_backend")


def feed_ids(client, **params):
    response = client.get("/feed/", params)
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def all_feed_ids(client, page_size=2):
    ids, url, pages = [], f"/feed/?page_size={page_size}", 0
    while url:
        body = client.get(url).json()
        ids += [p["id"] for p in body["results"]]
        url, pages = body["next"], pages + 1
        assert pages < 100
    return ids


def test_anonymous_gets_401(api_client):
    response = api_client.get("/feed/")
    assert response.status_code == 401
    assert "Bearer" in response["WWW-Authenticate"]


@on_each_store
def test_new_post_is_fanned_out_to_every_follower(client_for, active_user, timeline_ids, oncommit):
    author = active_user()
    followers = [active_user() for _ in range(3)]
    stranger = active_user()
    for f in followers:
        follow(oncommit, f, author)
        feed_ids(client_for(f))  # builds a complete timeline, so what follows is fan-out, not a rebuild
    post = publish(oncommit, author)
    for f in followers:
        assert post.pk in timeline_ids(f)
        assert feed_ids(client_for(f)) == [post.pk]
    assert post.pk in timeline_ids(author)
    assert post.pk not in feed_ids(client_for(stranger))


def test_own_posts_are_in_own_feed(client_for, active_user, oncommit):
    me = active_user()
    post = publish(oncommit, me)
    assert feed_ids(client_for(me)) == [post.pk]


@on_each_store
def test_follow_backfills_recent_posts(client_for, active_user, timeline_ids, oncommit):
    me, author = active_user(), active_user()
    old = [publish(oncommit, author, f"p{i}").pk for i in range(3)]
    client = client_for(me)
    assert feed_ids(client) == []
    follow(oncommit, me, author)
    assert set(old) <= timeline_ids(me)
    assert feed_ids(client) == old[::-1]


@on_each_store
def test_unfollow_removes_their_posts(client_for, active_user, timeline_ids, oncommit):
    me, author, friend = active_user(), active_user(), active_user()
    follow(oncommit, me, author)
    follow(oncommit, me, friend)
    client = client_for(me)
    feed_ids(client)
    theirs = publish(oncommit, author).pk
    kept = publish(oncommit, friend).pk
    assert feed_ids(client) == [kept, theirs]
    unfollow(oncommit, me, author)
    assert theirs not in timeline_ids(me)
    assert feed_ids(client) == [kept]


@on_each_store
def test_deleted_post_leaves_every_feed(client_for, active_user, timeline_ids, oncommit):
    author = active_user()
    followers = [active_user() for _ in range(2)]
    for f in followers:
        follow(oncommit, f, author)
        feed_ids(client_for(f))
    post = publish(oncommit, author)
    assert all(post.pk in timeline_ids(f) for f in followers)
    delete(oncommit, post)
    for f in [*followers, author]:
        assert post.pk not in timeline_ids(f)
        assert feed_ids(client_for(f)) == []


def test_removed_by_moderation_post_is_not_shown(client_for, active_user, oncommit):
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    post = publish(oncommit, author)
    Post.objects.filter(pk=post.pk).update(removed_at=timezone.now())
    assert feed_ids(client_for(me)) == []


def test_retried_fanout_duplicates_nothing(client_for, active_user, timeline_ids, oncommit):
    author, me = active_user(), active_user()
    follow(oncommit, me, author)
    client = client_for(me)
    feed_ids(client)
    post = publish(oncommit, author)
    size = timeline_client().zcard(timeline_key(me.pk))
    for _ in range(3):  # a redelivered message, a retry after a crash...
        tasks.fanout_post_task.apply(args=[post.pk])
        tasks.fanout_post_batch_task.apply(args=[post.pk, [me.pk]])
    assert timeline_client().zcard(timeline_key(me.pk)) == size
    assert feed_ids(client) == [post.pk]


@on_each_store
def test_fanout_is_batched(client_for, active_user, timeline_ids, settings, oncommit):
    settings.FEED_FANOUT_BATCH_SIZE = 2
    author = active_user()
    followers = [active_user() for _ in range(5)]
    for f in followers:
        follow(oncommit, f, author)
    post = PostFactory(author=author)
    assert [len(b) for b in services.fanout_post(post_id=post.pk)] == [2, 2, 1]
    with oncommit(execute=True):  # the other batches are tasks of their own, enqueued as the first task commits
        tasks.fanout_post_task.apply(args=[post.pk])
    assert all(post.pk in timeline_ids(f) for f in followers)


def test_redis_down_feed_still_answers_from_the_database(client_for, active_user, settings, oncommit):
    me, a, b, stranger = active_user(), active_user(), active_user(), active_user()
    follow(oncommit, me, a)
    follow(oncommit, me, b)
    expected = []
    for i in range(5):
        expected.append(publish(oncommit, [a, b, me][i % 3]).pk)
    publish(oncommit, stranger)
    settings.FEED_REDIS_URL = DEAD_REDIS
    client = client_for(me)
    assert all_feed_ids(client, page_size=2) == expected[::-1]
    # Fan-out with the store down fails loudly (the task retries), the feed keeps answering meanwhile.
    with pytest.raises(Exception):
        services.fanout_post(post_id=expected[0])
    assert feed_ids(client)[0] == expected[-1]


def test_stale_timeline_entries_are_filtered_by_the_database(client_for, active_user, timeline_ids, oncommit):
    """Redis may lag behind an unfollow (purge not yet run): the page still shows only followees' posts."""
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    client = client_for(me)
    feed_ids(client)
    post = publish(oncommit, author)
    from apps.follows.services import follow_delete

    follow_delete(follower=me, followee=author)  # after-commit purge not run
    assert post.pk in timeline_ids(me)
    assert feed_ids(client) == []


@on_each_store
def test_celebrity_posts_merged_in_order_without_duplicates(client_for, active_user, timeline_ids, settings, oncommit):
    settings.FEED_CELEBRITY_THRESHOLD = 2
    me, normal, celebrity = active_user(), active_user(), active_user()
    follow(oncommit, me, normal)
    for _ in range(2):
        follow(oncommit, active_user(), celebrity)
    # One post while still below the threshold: it is fanned out AND merged at read time; it must appear once.
    follow(oncommit, me, celebrity)
    client = client_for(me)
    feed_ids(client)
    settings.FEED_CELEBRITY_THRESHOLD = 5
    early = publish(oncommit, celebrity).pk
    assert early in timeline_ids(me)
    settings.FEED_CELEBRITY_THRESHOLD = 2
    expected = [early]
    for i in range(6):
        expected.append(publish(oncommit, [normal, celebrity][i % 2]).pk)
    celebrity_posts = expected[2::2]
    assert not set(celebrity_posts) & timeline_ids(me)  # not fanned out...
    got = all_feed_ids(client, page_size=2)
    assert got == expected[::-1]  # ...but merged, newest first, each once


def test_inactive_users_are_skipped_and_rebuilt_on_return(client_for, active_user, timeline_ids, settings, oncommit):
    author = active_user()
    away = active_user()
    follow(oncommit, away, author)
    client = client_for(away)
    feed_ids(client)
    away.last_login = timezone.now() - timedelta(days=settings.FEED_INACTIVE_DAYS + 1)
    away.save(update_fields=["last_login"])
    post = publish(oncommit, author)
    assert post.pk not in timeline_ids(away)  # fan-out skipped the absent user
    assert feed_ids(client) == [post.pk]  # their return rebuilds the timeline from the database
    assert post.pk in timeline_ids(away)
    away.refresh_from_db()
    assert away.last_login > timezone.now() - timedelta(minutes=1)


@on_each_store
def test_fragment_written_by_fanout_is_not_trusted(client_for, active_user, timeline_ids, oncommit):
    """A set without the sentinel (created by fan-out after the timeline expired) is rebuilt, not served."""
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    older = publish(oncommit, author).pk
    timeline_client().delete(timeline_key(me.pk))
    newer = publish(oncommit, author).pk
    assert timeline_ids(me) == {newer}
    assert feed_ids(client_for(me)) == [newer, older]
    assert timeline_client().zscore(timeline_key(me.pk), SENTINEL) is not None


def test_cursor_is_stable_while_new_posts_arrive(client_for, active_user, oncommit):
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    posts = [publish(oncommit, author).pk for _ in range(5)]
    client = client_for(me)
    first = client.get("/feed/?page_size=2").json()
    assert [p["id"] for p in first["results"]] == posts[:-3:-1]
    assert first["previous"] is None
    fresh = publish(oncommit, author).pk
    second = client.get(first["next"]).json()
    assert [p["id"] for p in second["results"]] == [posts[2], posts[1]]
    third = client.get(second["next"]).json()
    assert [p["id"] for p in third["results"]] == [posts[0]]
    assert third["next"] is None
    # Going back towards newer posts reaches the one that arrived meanwhile.
    back = client.get(second["previous"]).json()
    assert [p["id"] for p in back["results"]] == [posts[4], posts[3]]
    newest = client.get(back["previous"]).json()
    assert [p["id"] for p in newest["results"]] == [fresh]


@on_each_store
def test_pages_beyond_the_cap_come_from_the_database(client_for, active_user, settings, oncommit):
    settings.FEED_TIMELINE_MAX = 3
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    client = client_for(me)
    feed_ids(client)
    posts = [publish(oncommit, author).pk for _ in range(7)]
    assert timeline_client().zcard(timeline_key(me.pk)) == 4  # sentinel + the cap
    assert all_feed_ids(client, page_size=2) == posts[::-1]


@pytest.mark.parametrize(
    "params",
    [
        {"max_id": "abc"},
        {"max_id": "0"},
        {"min_id": "-3"},
        {"page_size": "0"},
        {"page_size": "101"},
        {"max_id": "1", "min_id": "2"},
        {"max_id": "9" * 30},
    ],
)
def test_bad_cursor_is_a_400(client_for, active_user, params):
    assert client_for(active_user()).get("/feed/", params).status_code == 400


def test_visibility_and_premium_in_the_home_feed(client_for, active_user, oncommit):
    author = active_user()
    reader = active_user()
    premium_reader = active_user(premium=True)
    for u in (reader, premium_reader):
        follow(oncommit, u, author)
    secret = with_image(publish(oncommit, author, "premium secret", "premium")).pk
    friends = publish(oncommit, author, "for followers", "followers").pk
    body = client_for(reader).get("/feed/").json()["results"]
    by_id = {p["id"]: p for p in body}
    assert set(by_id) == {secret, friends}
    assert by_id[secret]["locked"] is True
    assert by_id[secret]["text"] == ""
    assert by_id[secret]["images"] == []
    assert "premium secret" not in str(body)
    assert by_id[friends]["text"] == "for followers"
    premium_body = {p["id"]: p for p in client_for(premium_reader).get("/feed/").json()["results"]}
    assert premium_body[secret]["text"] == "premium secret"
    assert premium_body[secret]["locked"] is False
    assert len(premium_body[secret]["images"]) == 1


@on_each_store
@pytest.mark.parametrize("redis_down", [False, True])
def test_query_count_is_constant(client_for, active_user, settings, django_assert_num_queries, redis_down, oncommit):
    me = active_user()
    authors = [with_avatar(active_user()) for _ in range(5)]
    for a in authors:
        follow(oncommit, me, a)
    client = client_for(me)
    with_image(publish(oncommit, authors[0]))
    if redis_down:
        settings.FEED_REDIS_URL = DEAD_REDIS
    client.get("/feed/")  # warm: the last-seen stamp is written at most once an hour
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/feed/?page_size=1").json()["results"]) == 1
    for i in range(60):
        with_image(PostFactory(author=authors[i % 5], visibility=["public", "premium", "followers"][i % 3]))
    if not redis_down:
        services.timeline_rebuild(user_id=me.pk)  # PostFactory skips fan-out
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/feed/?page_size=50")
    assert len(response.json()["results"]) == 50


def test_a_page_reads_the_viewers_block_and_mute_sets_with_its_timeline(client_for, active_user, oncommit, monkeypatch):
    """With the timelines on REDIS_URL (the default), the command reading the page's timeline reads the viewer's
    cached block and mute sets too, and the page's query applies them: a muted followee's post is left out."""
    me, kept, muted = active_user(), active_user(), active_user()
    for author in (kept, muted):
        follow(oncommit, me, author)
    shown, hidden = publish(oncommit, kept), publish(oncommit, muted)
    client = client_for(me)
    assert feed_ids(client) == [hidden.pk, shown.pk]
    mute_set(muter=me, muted=muted)
    redis_client().delete(safety_sets_key(me.pk))  # the mute's tombstone: let the rebuild store the sets now
    assert safety_sets_rebuild(user_id=me.pk)
    reads = redis_reads(monkeypatch, safety_sets_key(me.pk))
    assert feed_ids(client) == [shown.pk]
    assert [(command[0], timeline_key(me.pk) in command) for command in reads] == [("EVALSHA", True)]


def test_a_page_that_finds_no_cached_sets_queues_their_rebuild_and_costs_the_same_sql(
    client_for, active_user, oncommit, django_assert_num_queries
):
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    publish(oncommit, author)
    client = client_for(me)
    feed_ids(client)  # warm: the last-seen stamp, the timeline, the celebrity list
    assert safety_sets_rebuild(user_id=me.pk) or redis_client().get(safety_sets_key(me.pk))
    with CaptureQueriesContext(connection) as warm:
        assert len(feed_ids(client)) == 1
    redis_client().delete(safety_sets_key(me.pk))
    with oncommit(execute=True), django_assert_num_queries(len(warm.captured_queries)):
        assert len(feed_ids(client)) == 1  # the sets as subqueries of the page's query; a rebuild is queued
    assert redis_client().get(safety_sets_key(me.pk)) is not None


def test_sweeper_redoes_a_fanout_that_never_ran(client_for, active_user, timeline_ids, oncommit):
    author, me = active_user(), active_user()
    follow(oncommit, me, author)
    feed_ids(client_for(me))
    lost = PostFactory(author=author)  # committed, but its fan-out message never reached a worker
    done = publish(oncommit, author)
    Post.objects.filter(pk__in=[lost.pk, done.pk]).update(created_at=timezone.now() - timedelta(minutes=5))
    assert selectors.fanout_missed_post_ids() == [lost.pk]
    with oncommit(execute=True):
        assert tasks.fanout_sweep_task.apply().get() == 1
    assert {lost.pk, done.pk} <= timeline_ids(me)
    assert selectors.fanout_missed_post_ids() == []


@on_each_store
def test_fragments_created_by_fanout_expire(active_user, oncommit, settings):
    author, never_reads = active_user(), active_user()
    follow(oncommit, never_reads, author)
    publish(oncommit, author)
    ttl = timeline_client().ttl(timeline_key(never_reads.pk))
    assert 0 < ttl <= settings.FEED_INACTIVE_DAYS * 86400


@on_each_store
def test_following_a_celebrity_merges_their_posts_at_once(client_for, active_user, timeline_ids, settings, oncommit):
    settings.FEED_CELEBRITY_THRESHOLD = 1
    me, celebrity = active_user(), active_user()
    for _ in range(2):
        follow(oncommit, active_user(), celebrity)
    posts = [publish(oncommit, celebrity).pk for _ in range(2)]
    client = client_for(me)
    assert feed_ids(client) == []  # caches "follows no celebrity"
    follow(oncommit, me, celebrity)
    assert not set(posts) & timeline_ids(me)  # no backfill for celebrities...
    assert feed_ids(client) == posts[::-1]  # ...the follow dropped the cached list, so they are merged at once
    unfollow(oncommit, me, celebrity)
    assert feed_ids(client) == []


@on_each_store
def test_backfill_and_unmerge_tasks_drop_the_cached_celebrity_list(client_for, active_user, settings, oncommit):
    """A follow's after-commit work only enqueues these two tasks: they alone must make its reads merge the right
    celebrities at once."""
    settings.FEED_CELEBRITY_THRESHOLD = 1
    me, celebrity = active_user(), active_user()
    for _ in range(2):
        follow(oncommit, active_user(), celebrity)
    post = publish(oncommit, celebrity).pk
    client = client_for(me)
    assert feed_ids(client) == []  # caches "follows no celebrity"
    Follow.objects.create(follower=me, followee=celebrity)  # the row alone: no service, no after-commit hook
    tasks.timeline_backfill_task.apply(args=[me.pk, celebrity.pk])
    assert feed_ids(client) == [post]
    assert timeline_client().exists(celebrities_key(me.pk))
    Follow.objects.filter(follower=me, followee=celebrity).delete()
    tasks.timeline_unmerge_task.apply(args=[me.pk, celebrity.pk])
    assert not timeline_client().exists(celebrities_key(me.pk))
    assert feed_ids(client) == []


@on_each_store
def test_reading_a_page_writes_nothing(active_user, oncommit):
    """The selector only reads: given no stored timeline (Redis could not answer) it answers from the database and
    leaves Redis untouched (the view's services.home_timeline_prepare is what reads Redis and rebuilds)."""
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    post = publish(oncommit, author).pk
    timeline_client().delete(timeline_key(me.pk), celebrities_key(me.pk))
    page = selectors.feed_home_page(viewer=me, window=IdWindow(max_id=None, min_id=None, size=20), stored=None)
    assert [p["id"] for p in page.posts] == [post]
    assert not timeline_client().exists(timeline_key(me.pk), celebrities_key(me.pk))


@on_each_store
def test_the_timeline_is_kept_alive_with_the_last_seen_stamp(client_for, active_user, settings, oncommit):
    """A read refreshes the timeline's TTL when it writes the reader's stamp (at most hourly), not on every page:
    it then expires about when fan-out starts skipping the reader, and most pages write nothing to Redis."""
    me = active_user()
    client = client_for(me)
    feed_ids(client)
    lifetime = settings.FEED_INACTIVE_DAYS * 86400
    timeline_client().expire(timeline_key(me.pk), 100)
    feed_ids(client)  # stamped a moment ago: nothing to refresh
    assert 0 < timeline_client().ttl(timeline_key(me.pk)) <= 100
    me.last_login = timezone.now() - services.LAST_SEEN_RESOLUTION - timedelta(minutes=1)
    me.save(update_fields=["last_login"])
    feed_ids(client)  # stamped again: the timeline lives as long as the stamp counts
    assert lifetime - 60 < timeline_client().ttl(timeline_key(me.pk)) <= lifetime


def test_timelines_live_on_feed_redis_url_when_it_is_set(settings):
    settings.FEED_REDIS_URL = ""
    assert timeline_client() is redis_client()
    settings.FEED_REDIS_URL = DEAD_REDIS
    assert timeline_client() is redis_client("FEED_REDIS_URL")
    assert timeline_client() is not redis_client()


def test_author_just_above_the_threshold_is_fanned_out_and_merged_once(
    client_for, active_user, timeline_ids, settings, oncommit
):
    settings.FEED_CELEBRITY_THRESHOLD = 10
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    for _ in range(10):
        follow(oncommit, active_user(), author)  # 11 followers: above 10, within the fan-out hysteresis
    client = client_for(me)
    feed_ids(client)
    post = publish(oncommit, author).pk
    assert post in timeline_ids(me)
    assert feed_ids(client) == [post]


@pytest.mark.parametrize("window", [{}, {"max_id": "mid"}, {"min_id": "mid"}])
def test_both_database_strategies_agree(active_user, oncommit, window):
    """The per-author (LATERAL) query and the newest-first scan return the same ids in the same order."""
    me = active_user()
    authors = [active_user() for _ in range(4)]
    for a in authors:
        follow(oncommit, me, a)
    ids = [PostFactory(author=[me, *authors][i % 5]).pk for i in range(25)]
    PostFactory()  # a stranger's
    Post.objects.filter(pk=ids[3]).update(removed_at=timezone.now())
    authors[0].is_active = False
    authors[0].save(update_fields=["is_active"])
    params = dict.fromkeys(window, ids[12])
    lateral = selectors.home_post_ids_from_db(user_id=me.pk, limit=7, following_count=4, **params)
    scan = selectors.home_post_ids_from_db(user_id=me.pk, limit=7, following_count=10**6, **params)
    assert lateral == scan
    assert len(lateral) == 7
    assert ids[3] not in lateral
    assert not {p.pk for p in Post.objects.filter(author=authors[0])} & set(lateral)


@on_each_store
def test_fanout_is_marked_done_only_when_every_batch_is_written(active_user, oncommit, settings, timeline_ids):
    # A worker killed between the first step and the batches used to leave a "done" marker and no timeline writes:
    # the sweeper trusted the marker and the post stayed out of every follower's timeline until redelivery.
    settings.FEED_FANOUT_BATCH_SIZE = 2
    author, followers = active_user(), [active_user() for _ in range(5)]
    for f in followers:
        follow(oncommit, f, author)
    post = PostFactory(author=author)  # no fan-out yet
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    batches = services.fanout_post(post_id=post.pk)
    assert len(batches) == 3
    assert selectors.fanout_missed_post_ids() == [post.pk]  # interrupted here: the sweeper must redo it
    for batch in batches[:-1]:
        services.fanout_post_batch(post_id=post.pk, user_ids=batch)
    assert selectors.fanout_missed_post_ids() == [post.pk]
    services.fanout_post_batch(post_id=post.pk, user_ids=batches[-1])
    assert selectors.fanout_missed_post_ids() == []
    assert all(post.pk in timeline_ids(f) for f in followers)


def test_sweeper_restarts_a_bounded_number_of_fanouts(active_user, settings, oncommit):
    # After a Redis restart every marker is gone: the sweeper must not re-fan the whole window in one go.
    settings.FEED_FANOUT_SWEEP_MAX = 2
    author = active_user()
    posts = [PostFactory(author=author) for _ in range(5)]
    Post.objects.filter(pk__in=[p.pk for p in posts]).update(created_at=timezone.now() - timedelta(minutes=5))
    assert selectors.fanout_missed_post_ids() == [posts[4].pk, posts[3].pk]  # newest first
    with oncommit(execute=True):
        assert tasks.fanout_sweep_task.apply().get() == 2
    assert selectors.fanout_missed_post_ids() == [posts[2].pk, posts[1].pk]
