"""Writes to home timelines: fan-out of new posts, purge of deleted ones, backfill and unmerge on (un)follow,
rebuild from PostgreSQL. All idempotent (ZADD/ZREM of a post id), so a retried or duplicated task is harmless."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from apps.follows.models import Follow
from apps.posts.models import Post
from apps.safety.selectors import blocked_between
from apps.users.models import User

from . import timeline

logger = logging.getLogger(__name__)

# Refreshing the last-seen stamp at most this often keeps the home read path free of writes almost always.
LAST_SEEN_RESOLUTION = timedelta(hours=1)
# The sweeper looks at posts between these ages: younger ones may simply still be queued.
FANOUT_SWEEP_GRACE = timedelta(minutes=1)
FANOUT_SWEEP_WINDOW = timedelta(minutes=30)


def active_cutoff():
    return timezone.now() - timedelta(days=settings.FEED_INACTIVE_DAYS)


def active_users_q(prefix: str = "") -> Q:
    """Users seen within FEED_INACTIVE_DAYS. `last_login` is our last-seen stamp (refreshed by home reads); a
    brand-new account that never read its feed counts from when it joined."""
    cutoff = active_cutoff()
    return Q(**{f"{prefix}last_login__gte": cutoff}) | Q(
        **{f"{prefix}last_login__isnull": True, f"{prefix}date_joined__gte": cutoff}
    )


# Fan-out keeps writing for authors up to 10% above the threshold. Readers cache their list of followed celebrities
# for a few minutes; an author who just crossed the threshold is then merged by some readers and fanned out to all,
# never neither (duplicates are dropped on read).
FANOUT_HYSTERESIS = 1.1


def is_celebrity(followers_count: int) -> bool:
    """Too many followers to fan out to: readers merge this author's posts in instead."""
    return followers_count > settings.FEED_CELEBRITY_THRESHOLD * FANOUT_HYSTERESIS


def celebrities_forget_safely(*, user_id: int) -> None:
    """After a follow or unfollow: the user's cached list of followed celebrities is stale."""
    client = timeline.timeline_client()
    if client is None:
        return
    try:
        timeline.celebrities_forget(client=client, user_id=user_id)
    except redis.RedisError:
        logger.warning("feed: cannot drop the celebrity list of user %s", user_id)


# Up to this many followees, the home query walks each author's (author_id, id) index (LATERAL): cost grows with
# the number of followees, not with how far back their last posts are. Above it, followees' posts are dense enough
# that walking the posts newest first and filtering is cheaper.
LATERAL_MAX_FOLLOWING = 2000

_HOME_IDS_LATERAL = """
SELECT p.id FROM (
    SELECT f.followee_id AS author_id FROM {follow} f WHERE f.follower_id = %(user)s
    UNION SELECT %(user)s
) a
JOIN {user} u ON u.id = a.author_id AND u.is_active
CROSS JOIN LATERAL (
    SELECT id FROM {post} WHERE author_id = a.author_id AND removed_at IS NULL AND id {cmp} %(bound)s
    ORDER BY id {direction} LIMIT %(limit)s
) p
ORDER BY p.id {direction} LIMIT %(limit)s
"""


def home_post_ids_from_db(
    *,
    user_id: int,
    max_id: int | None = None,
    min_id: int | None = None,
    limit: int,
    following_count: int | None = None,
) -> list[int]:
    """The home timeline straight from PostgreSQL (own posts and followees'), newest first (oldest first with
    min_id). Both the fallback read path and the rebuild use it, so the two can never disagree."""
    if connection.vendor == "postgresql" and (following_count or 0) <= LATERAL_MAX_FOLLOWING:
        ascending = min_id is not None
        sql = _HOME_IDS_LATERAL.format(
            follow=Follow._meta.db_table,
            user=User._meta.db_table,
            post=Post._meta.db_table,
            cmp=">" if ascending else "<",
            direction="ASC" if ascending else "DESC",
        )
        bound = min_id if ascending else (max_id if max_id is not None else 2**63 - 1)
        with connection.cursor() as cursor:
            cursor.execute(sql, {"user": user_id, "bound": bound, "limit": limit})
            return [row[0] for row in cursor.fetchall()]
    qs = Post.objects.filter(
        Q(author_id=user_id) | Q(author_id__in=Follow.objects.filter(follower_id=user_id).values("followee_id")),
        removed_at__isnull=True,
        author__is_active=True,
    )
    if max_id is not None:
        qs = qs.filter(id__lt=max_id)
    if min_id is not None:
        qs = qs.filter(id__gt=min_id)
    order = "id" if min_id is not None else "-id"
    return list(qs.order_by(order).values_list("id", flat=True)[:limit])


def timeline_rebuild(*, user_id: int, following_count: int | None = None) -> list[int]:
    """Rebuild a user's timeline from the database (a returning inactive user, a lost or partial set)."""
    ids = home_post_ids_from_db(user_id=user_id, limit=settings.FEED_TIMELINE_MAX, following_count=following_count)
    client = timeline.timeline_client()
    if client is not None:
        timeline.timeline_replace(client=client, user_id=user_id, post_ids=ids)
    return ids


def timeline_rebuild_safely(*, user_id: int, following_count: int | None = None) -> None:
    """Rebuild on the request path: with Redis down the read simply takes the database path instead."""
    try:
        timeline_rebuild(user_id=user_id, following_count=following_count)
    except redis.RedisError:
        logger.warning("feed: cannot rebuild timeline of user %s (timeline store unavailable)", user_id)


def feed_mark_seen(*, user: User) -> bool:
    """Stamp the user as seen; True when they were inactive until now (fan-out skipped them: rebuild)."""
    now = timezone.now()
    seen = user.last_login or user.date_joined
    was_inactive = seen is None or seen < now - timedelta(days=settings.FEED_INACTIVE_DAYS)
    if user.last_login is None or user.last_login < now - LAST_SEEN_RESOLUTION:
        User.objects.filter(pk=user.pk).update(last_login=now)
        user.last_login = now
    return was_inactive


def fanout_recipients(*, author_id: int) -> list[int]:
    """Active followers of the author (inactive ones get their timeline rebuilt when they return)."""
    return list(
        Follow.objects.filter(followee_id=author_id)
        .filter(active_users_q("follower__"), follower__is_active=True)
        .order_by()
        .values_list("follower_id", flat=True)
    )


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
    timeline.fanout_mark_done(client=client, post_id=post_id)
    if is_celebrity(followers_count):
        return []
    ids = fanout_recipients(author_id=author_id)
    size = settings.FEED_FANOUT_BATCH_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def fanout_sweep(
    *, older_than: timedelta = FANOUT_SWEEP_GRACE, newer_than: timedelta = FANOUT_SWEEP_WINDOW
) -> list[int]:
    """Posts of the recent past whose fan-out never started (broker down at commit, message lost): returns their
    ids for re-enqueueing. Postgres says which posts exist, a short-lived Redis marker which were fanned out."""
    client = timeline.timeline_client()
    if client is None:
        return []
    now = timezone.now()
    ids = list(
        Post.objects.filter(
            created_at__lt=now - older_than, created_at__gte=now - newer_than, removed_at__isnull=True
        ).values_list("id", flat=True)
    )
    done = timeline.fanout_done(client=client, post_ids=ids)
    return [pid for pid, ok in zip(ids, done, strict=True) if not ok]


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


def fanout_remove_batches(*, author_id: int) -> list[list[int]]:
    """Every follower (active or not: an inactive one's set may still exist) plus the author, in batches."""
    ids = [author_id, *Follow.objects.filter(followee_id=author_id).order_by().values_list("follower_id", flat=True)]
    size = settings.FEED_FANOUT_BATCH_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def fanout_remove_batch(*, post_id: int, user_ids: list[int]) -> None:
    client = timeline.timeline_client()
    if client is not None:
        timeline.timeline_remove(client=client, user_ids=user_ids, post_ids=[post_id])


def timeline_backfill(*, user_id: int, author_id: int) -> None:
    """After a follow: bring the followee's recent posts into the follower's timeline (if it is complete; a
    missing one is rebuilt, followee included, on the next read). Celebrities are merged at read time anyway."""
    client = timeline.timeline_client()
    if client is None:
        return
    author = User.objects.filter(pk=author_id).values_list("followers_count", flat=True).first()
    if author is None or is_celebrity(author):
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
    """After an unfollow: drop the author's posts from the user's timeline (unless they followed again)."""
    client = timeline.timeline_client()
    if client is None or Follow.objects.filter(follower_id=user_id, followee_id=author_id).exists():
        return
    # Exactly the author's posts among the (at most FEED_TIMELINE_MAX) ids stored: one bounded query.
    stored = timeline.timeline_members(client=client, user_id=user_id)
    ids = list(Post.objects.filter(id__in=stored, author_id=author_id).values_list("id", flat=True))
    timeline.timeline_remove(client=client, user_ids=[user_id], post_ids=ids)
