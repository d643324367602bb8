"""Every write of the feed app: home timelines in Redis (fan-out of new posts, purge of deleted ones, backfill and
unmerge on (un)follow, rebuild from PostgreSQL), the readers' last-seen stamp, the trending cache and each
reader's cached "for you" ranking.

Timeline writes are idempotent (ZADD/ZREM of a post id), so a retried or duplicated task is harmless. The reads
they need are in selectors.py.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from functools import partial

import redis
from django.conf import settings
from django.utils import timezone

from apps.common.pagination import IdWindow
from apps.common.redis import redis_client
from apps.common.replicas import primary_reads
from apps.follows.models import Follow
from apps.posts.models import Post
from apps.safety.selectors import (
    blocked_between,
    hidden_and_muted_accounts_from,
    hidden_and_muted_accounts_with,
    safety_sets_key,
)
from apps.users.models import User
from apps.users.visibility import AccountSet

from . import ranking, selectors, timeline
from .ranking import RankedEntries

logger = logging.getLogger(__name__)

# Refreshing the last-seen stamp at most this often keeps the home read path free of writes almost always.
LAST_SEEN_RESOLUTION = timedelta(hours=1)


# --- readers ------------------------------------------------------------------------------------------------------
def user_mark_seen(*, user: User) -> bool:
    """Stamp the user as seen now (at most once per LAST_SEEN_RESOLUTION); fan-out skips users not seen for
    FEED_INACTIVE_DAYS. True when the stamp was written.

    The stamp is `User.last_login`. Django writes it only on a session login (the OAuth authorization page, the
    admin); API clients send bearer tokens and never pass there, so home reads stamp it here. Either way it means
    "this user showed up". A column of our own would add a join to every fan-out query (selectors.active_users_q
    filters the followers' rows on it) for no difference in meaning.
    """
    now = timezone.now()
    if user.last_login is None or user.last_login < now - LAST_SEEN_RESOLUTION:
        User.objects.filter(pk=user.pk).update(last_login=now)
        user.last_login = now
        return True
    return False


# The primary even in a GET: a timeline rebuilt from a lagging replica would keep missing a post in Redis long
# after the replica caught up.
@primary_reads()
def home_timeline_prepare(
    *, reader: User, window: IdWindow
) -> tuple[timeline.TimelineSlice | None, tuple[AccountSet, AccountSet] | None]:
    """A home page's ids from Redis, with what it takes to trust them: stamp the reader as seen, rebuild their
    timeline from PostgreSQL when it is missing, a fragment written by fan-out, or stale because the reader comes
    back after FEED_INACTIVE_DAYS (fan-out skipped them meanwhile), and cache their list of followed celebrities.
    None when Redis cannot answer (down, or the embedded mode): selectors.feed_home_page then reads the database.
    Also the reader's hidden and muted accounts, which the page's query needs, when they came with the timeline
    (None: the page reads them).

    Most pages cost one Redis command and write nothing: with the timelines on REDIS_URL (the default), that
    command reads the reader's block and mute sets too, which would otherwise cost the page a round trip of its
    own. The timeline's TTL is refreshed together with the stamp, not on every page: it then expires about when
    fan-out starts skipping its owner (their stamp is FEED_INACTIVE_DAYS old), as before within the stamp's hour;
    a reader back after that is rebuilt either way (`was_away`).
    """
    was_away = selectors.reader_was_away(reader=reader)
    stamped = user_mark_seen(user=reader)
    try:
        client = timeline.timeline_client()  # a cluster client is built by asking the cluster: it may fail too
        if client is None:
            return None, None
        # A separate timeline store (FEED_REDIS_URL) does not hold the sets: the page's query then reads them.
        sets_key = safety_sets_key(reader.pk) if client is redis_client() else None
        read = partial(
            timeline.timeline_read,
            client=client,
            user_id=reader.pk,
            max_id=window.max_id,
            min_id=window.min_id,
            limit=selectors.home_candidate_count(window),
            extra_key=sets_key,
        )
        stored = None if was_away else read(keep_alive=stamped)
        if stored is None or not stored.complete:
            timeline_rebuild(user_id=reader.pk, following_count=reader.following_count)
            stored = read()
        if stored.celebrities is None:
            celebrities = selectors.followed_celebrities(user_id=reader.pk)
            timeline.celebrities_store(client=client, user_id=reader.pk, author_ids=celebrities)
            stored = replace(stored, celebrities=celebrities)
        accounts = None if sets_key is None else hidden_and_muted_accounts_from(reader, stored.extra)
        return stored, accounts
    except redis.RedisError:
        logger.warning("feed: timeline store unavailable, user %s's feed will come from the database", reader.pk)
        return None, None


# --- timelines ----------------------------------------------------------------------------------------------------
def timeline_rebuild(*, user_id: int, following_count: int | None = None) -> None:
    """Rebuild a user's timeline from the database (a returning inactive user, a lost or partial set)."""
    client = timeline.timeline_client()
    if client is None:
        return
    ids = selectors.home_post_ids_from_db(
        user_id=user_id, limit=settings.FEED_TIMELINE_MAX, following_count=following_count
    )
    timeline.timeline_replace(client=client, user_id=user_id, post_ids=ids)


def fanout_post(*, post_id: int) -> list[list[int]]:
    """Write a new post into its author's timeline and return the follower batches still to be written.

    Celebrities (more than FEED_CELEBRITY_THRESHOLD followers) are not fanned out at all: readers merge their
    posts in at read time, which costs one indexed query instead of millions of ZADDs per post.
    """
    row = (
        Post.objects.filter(pk=post_id, removed_at__isnull=True)
        .values_list("author_id", "author__followers_count")
        .first()
    )
    client = timeline.timeline_client()
    if row is None or client is None:
        return []
    author_id, followers_count = row
    timeline.timeline_push(client=client, user_ids=[author_id], post_ids=[post_id])
    batches = [] if selectors.is_celebrity(followers_count) else selectors.fanout_recipient_batches(author_id=author_id)
    # Marked done only once every batch is written (fanout_post_batch), so an interrupted fan-out is swept again.
    timeline.fanout_start(client=client, post_id=post_id, batch_heads=[b[0] for b in batches if b])
    return batches


def fanout_post_batch(*, post_id: int, user_ids: list[int]) -> None:
    client = timeline.timeline_client()
    author_id = Post.objects.filter(pk=post_id, removed_at__isnull=True).values_list("author_id", flat=True).first()
    if client is None or author_id is None:
        return  # deleted before its fan-out ran: nothing to add (and the purge may already have run)
    timeline.timeline_push(client=client, user_ids=user_ids, post_ids=[post_id])
    # Checked after the push, not before: a block committed before this query is seen here and undone at once; one
    # committed after it also came after the push, so its purge (enqueued on commit) removes the post. Checked
    # before, a block landing between check and push would leave the post in the blocker's timeline.
    blocked = blocked_between(user_id=author_id, others=user_ids)
    if blocked:
        timeline.timeline_remove(client=client, user_ids=blocked, post_ids=[post_id])
    if user_ids:
        timeline.fanout_batch_written(client=client, post_id=post_id, batch_head=user_ids[0])


def fanout_remove_batch(*, post_id: int, user_ids: list[int]) -> None:
    client = timeline.timeline_client()
    if client is not None:
        timeline.timeline_remove(client=client, user_ids=user_ids, post_ids=[post_id])


def timeline_backfill(*, user_id: int, author_id: int) -> None:
    """After a follow: drop the follower's cached celebrity list (the followee may be one) and bring the followee's
    recent posts into the follower's timeline (if it is complete; a missing one is rebuilt, followee included, on
    the next read). Celebrities are merged at read time anyway. Also drops their "for you" ranking: its social
    proof is what the people they follow liked and commented."""
    client = timeline.timeline_client()
    if client is None:
        return
    timeline.follows_changed(client=client, user_id=user_id)
    author = User.objects.filter(pk=author_id).values_list("followers_count", flat=True).first()
    if author is None or selectors.is_celebrity(author):
        return
    if not Follow.objects.filter(follower_id=user_id, followee_id=author_id).exists():
        return  # unfollowed before this ran
    if not timeline.timeline_is_complete(client=client, user_id=user_id):
        return
    qs = Post.objects.filter(author_id=author_id, removed_at__isnull=True)
    oldest = timeline.timeline_oldest_id(client=client, user_id=user_id)
    if oldest is not None:
        qs = qs.filter(id__gt=oldest)  # older ones would be trimmed right away
    ids = list(qs.order_by("-id").values_list("id", flat=True)[: settings.FEED_TIMELINE_MAX])
    timeline.timeline_push(client=client, user_ids=[user_id], post_ids=ids)


def timeline_unmerge(*, user_id: int, author_id: int) -> None:
    """After an unfollow (or a block, either way): drop the user's cached celebrity list (the author may be one),
    their "for you" ranking and the author's posts from the user's timeline (unless they followed again)."""
    client = timeline.timeline_client()
    if client is None:
        return
    timeline.follows_changed(client=client, user_id=user_id)
    if Follow.objects.filter(follower_id=user_id, followee_id=author_id).exists():
        return
    # Exactly the author's posts among the (at most FEED_TIMELINE_MAX) ids stored: one bounded query.
    stored = timeline.timeline_members(client=client, user_id=user_id)
    ids = list(Post.objects.filter(id__in=stored, author_id=author_id).values_list("id", flat=True))
    timeline.timeline_remove(client=client, user_ids=[user_id], post_ids=ids)


# --- trending -----------------------------------------------------------------------------------------------------
def trending_refresh() -> RankedEntries:
    """Recompute and store the trending ranking (periodic task on `default`); returns it."""
    entries = RankedEntries.of(selectors.trending_compute())
    client = redis_client()
    if client is not None:
        try:
            # Twice the refresh period: one missed beat does not empty the list, a stopped beat cannot freeze it.
            client.set(ranking.TRENDING_KEY, entries.packed(), ex=2 * settings.FEED_TRENDING_REFRESH_SECONDS)
        except redis.RedisError:
            logger.warning("feed: cannot store trending", exc_info=True)
    return entries


def trending_ranking() -> RankedEntries:
    """The trending ranking for a read: the stored one (one Redis read), or, when there is none (first start,
    flushed Redis), computed and stored now rather than by every request until the next periodic refresh. With
    Redis absent or down it is computed inline."""
    entries = selectors.trending_entries()
    return trending_refresh() if entries is None else entries


def trending_for_page(*, viewer) -> tuple[RankedEntries, tuple[AccountSet, AccountSet]]:
    """`trending_ranking()` and the viewer's hidden and muted accounts, for a trending page: one Redis read."""
    entries, accounts = selectors.trending_entries_and_accounts(viewer=viewer)
    return (trending_refresh() if entries is None else entries), accounts


# --- "for you" ----------------------------------------------------------------------------------------------------
# Each reader's ranking is computed once and kept beside their timeline for FEED_RECOMMEND_CACHE_SECONDS: a page is
# then one Redis read plus its posts' query, and the `cursor` of the next page points into the same list. Nothing
# the ranking holds needs guarding: the page's query applies the visibility rule, mutes, filters and the reader's
# likes at read time (selectors.recommended_page). What the cache delays is only new candidates and changed
# scores, by at most its lifetime; following or unfollowing someone (the reader's social proof) drops it at once
# (timeline_backfill, timeline_unmerge). A page computing a ranking while the reader follows someone may store
# the old one after that drop: it then lives out its short lifetime.
def recommended_prepare(*, viewer: User) -> tuple[ranking.Recommendations, tuple[AccountSet, AccountSet] | None]:
    """The viewer's "for you" ranking: the stored one while it lives, else computed now and stored. Without Redis
    (down, or the embedded mode) it is computed on every page: slower, never a failed page. Also the viewer's
    hidden and muted accounts, which the page's query needs, when they came with it (None: the page reads them)."""
    client, accounts = None, None
    try:
        client = timeline.timeline_client()  # a cluster client is built by asking the cluster: it may fail too
        if client is not None:
            if client is redis_client():
                # The timelines share REDIS_URL with the viewer's block and mute sets: one round trip for both.
                hidden, muted, values = hidden_and_muted_accounts_with(viewer, timeline.recommended_key(viewer.pk))
                accounts = (hidden, muted)
                if values is None:  # Redis could not answer: computed inline, and not stored either
                    client, stored = None, None
                else:
                    stored = timeline.recommended_unpacked(values[0])
            else:
                stored = timeline.recommended_read(client=client, user_id=viewer.pk)
            if stored is not None:
                return stored, accounts
    except redis.RedisError:
        logger.warning("feed: timeline store unavailable, computing user %s's recommendations inline", viewer.pk)
        client = None
    # Trending is a source of candidates: computed once for everyone, not inside each reader's ranking.
    recommendations = selectors.recommended_compute(viewer=viewer, trending=trending_ranking())
    ttl = settings.FEED_RECOMMEND_CACHE_SECONDS
    if client is not None and ttl > 0:
        try:
            timeline.recommended_store(client=client, user_id=viewer.pk, recommendations=recommendations, ttl=ttl)
        except redis.RedisError:
            logger.warning("feed: timeline store unavailable, user %s's recommendations not kept", viewer.pk)
    return recommendations, accounts
