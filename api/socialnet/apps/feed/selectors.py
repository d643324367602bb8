"""Every read of the feed app: who is an active reader, who receives a post, the home timeline and the rankings.

Nothing here writes. What the reads find in Redis (complete timelines, cached celebrity lists, the trending
ranking, each reader's "for you" ranking) is put there by services.py; when it is missing or Redis cannot answer,
the read answers from PostgreSQL instead, so a page is always right, only slower.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Value
from django.utils import timezone

from apps.comments.models import Comment
from apps.common.fields import MAX_ID
from apps.common.pagination import IdWindow, ScoreCursor
from apps.common.prepared import AnyOf, IdsParam, Param, PreparedSource
from apps.common.redis import redis_client
from apps.follows.models import Follow
from apps.interactions.models import Like
from apps.posts.models import Post
from apps.posts.selectors import post_feed_queryset, post_feed_source, posts_by_ids
from apps.safety.selectors import hidden_and_muted_accounts_with
from apps.tags.models import PostTag
from apps.tags.selectors import followed_tag_post_ids, user_follows_tags
from apps.users.models import User
from apps.users.visibility import AccountSet

from . import ranking, timeline
from .ranking import Entry, RankedEntries, Recommendations

logger = logging.getLogger(__name__)


# --- active readers -----------------------------------------------------------------------------------------------
def active_cutoff() -> datetime:
    return timezone.now() - timedelta(days=settings.FEED_INACTIVE_DAYS)


def active_users_q(prefix: str = "") -> Q:
    """Users seen within FEED_INACTIVE_DAYS (see services.user_mark_seen for why the stamp is `last_login`); a
    brand-new account that never read its feed counts from when it joined."""
    cutoff = active_cutoff()
    return Q(**{f"{prefix}last_login__gte": cutoff}) | Q(
        **{f"{prefix}last_login__isnull": True, f"{prefix}date_joined__gte": cutoff}
    )


def reader_was_away(*, reader: User) -> bool:
    """Not seen for FEED_INACTIVE_DAYS: fan-out skipped them, so their stored timeline misses posts."""
    seen = reader.last_login or reader.date_joined
    return seen is None or seen < active_cutoff()


# --- celebrities --------------------------------------------------------------------------------------------------
# Fan-out keeps writing for authors up to 10% above the threshold. Readers cache their list of followed celebrities
# for a few minutes; an author who just crossed the threshold is then merged by some readers and fanned out to all,
# never neither (duplicates are dropped on read).
FANOUT_HYSTERESIS = 1.1


def is_celebrity(followers_count: int) -> bool:
    """Too many followers to fan out to: readers merge this author's posts in instead."""
    return followers_count > settings.FEED_CELEBRITY_THRESHOLD * FANOUT_HYSTERESIS


def followed_celebrities(*, user_id: int) -> list[int]:
    """Followed authors whose posts are merged at read time (more than FEED_CELEBRITY_THRESHOLD followers)."""
    return list(
        Follow.objects.filter(
            follower_id=user_id, followee__followers_count__gt=settings.FEED_CELEBRITY_THRESHOLD
        ).values_list("followee_id", flat=True)
    )


# --- fan-out audiences --------------------------------------------------------------------------------------------
# The sweeper looks at posts younger than this and older than SWEEP_GRACE_SECONDS (younger ones may simply still
# be queued).
FANOUT_SWEEP_WINDOW = timedelta(minutes=30)


def _in_batches(ids: list[int]) -> list[list[int]]:
    size = settings.FEED_FANOUT_BATCH_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def fanout_recipients(*, author_id: int) -> list[int]:
    """Active followers of the author (inactive ones get their timeline rebuilt when they return)."""
    return list(
        Follow.objects.filter(followee_id=author_id)
        .filter(active_users_q("follower__"), follower__is_active=True)
        .order_by()
        .values_list("follower_id", flat=True)
    )


def fanout_recipient_batches(*, author_id: int) -> list[list[int]]:
    return _in_batches(fanout_recipients(author_id=author_id))


def fanout_remove_batches(*, author_id: int) -> list[list[int]]:
    """Every timeline that may hold the author's posts: every follower (active or not: an inactive one's set may
    still exist) plus the author, in batches."""
    ids = [author_id, *Follow.objects.filter(followee_id=author_id).order_by().values_list("follower_id", flat=True)]
    return _in_batches(ids)


def fanout_missed_post_ids(
    *, older_than: timedelta | None = None, newer_than: timedelta = FANOUT_SWEEP_WINDOW
) -> list[int]:
    """Posts of the recent past whose fan-out never finished (broker down at commit, message lost, worker killed
    mid-fan-out). Postgres says which posts exist, a short-lived Redis marker which were fanned out completely.

    At most FEED_FANOUT_SWEEP_MAX, newest first: a Redis restart wipes every marker, and re-fanning the whole
    window at once would flood the `follows` queue; the rest comes on the next sweeps (or leaves the window, which
    is fine: a restarted Redis lost the timelines too, and they are rebuilt from PostgreSQL on read)."""
    client = timeline.timeline_client()
    if client is None:
        return []
    if older_than is None:
        older_than = timedelta(seconds=settings.SWEEP_GRACE_SECONDS)
    now = timezone.now()
    ids = list(
        Post.objects.filter(created_at__lt=now - older_than, created_at__gte=now - newer_than, removed_at__isnull=True)
        .order_by("-id")
        .values_list("id", flat=True)
    )
    done = timeline.fanout_done(client=client, post_ids=ids)
    missed = [pid for pid, ok in zip(ids, done, strict=True) if not ok]
    return missed[: settings.FEED_FANOUT_SWEEP_MAX]


# --- home timeline ------------------------------------------------------------------------------------------------
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
        bound = min_id if ascending else (max_id if max_id is not None else MAX_ID)
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


@dataclass
class HomePage:
    posts: list[dict]  # a list page's rows (posts.selectors.post_feed_source)
    next_max_id: int | None  # older page
    prev_min_id: int | None  # newer page


def _celebrity_post_ids(*, celebrities: list[int], max_id: int | None, min_id: int | None, limit: int) -> list[int]:
    """Posts of followed celebrities (fan-out skips them), in the same window as the page."""
    if not celebrities:
        return []  # most users: no query at all
    qs = Post.objects.filter(author_id__in=celebrities, removed_at__isnull=True)
    if max_id is not None:
        qs = qs.filter(id__lt=max_id)
    if min_id is not None:
        qs = qs.filter(id__gt=min_id)
    return list(qs.order_by("id" if min_id is not None else "-id").values_list("id", flat=True)[:limit])


def home_candidate_count(window: IdWindow) -> int:
    """How many ids a page of `window` reads: one beyond the page says whether there is another."""
    return window.size + 1


def _timeline_candidate_ids(
    *, stored: timeline.TimelineSlice, max_id: int | None, min_id: int | None, limit: int
) -> list[int] | None:
    """Up to `limit` ids from the stored timeline with followed celebrities' posts merged in; None when the
    database must answer instead (no complete timeline, or the page reaches below the cap)."""
    if not stored.complete or stored.truncated:
        return None
    # services.home_timeline_prepare caches the list of celebrities and fills it in when it was missing.
    merged = _celebrity_post_ids(celebrities=stored.celebrities or [], max_id=max_id, min_id=min_id, limit=limit)
    if not merged:
        return stored.ids
    return sorted(set(stored.ids) | set(merged), reverse=min_id is None)[:limit]


def _candidate_ids(
    *, reader: User, stored: timeline.TimelineSlice | None, max_id: int | None, min_id: int | None, limit: int
) -> list[int]:
    """Up to `limit` ids in page order: newest first, or oldest first when paging towards newer posts."""
    ids = None if stored is None else _timeline_candidate_ids(stored=stored, max_id=max_id, min_id=min_id, limit=limit)
    if ids is None:
        ids = home_post_ids_from_db(
            user_id=reader.pk, max_id=max_id, min_id=min_id, limit=limit, following_count=reader.following_count
        )
    # Public posts with a followed tag: merged here at read time (one indexed query), never fanned out, like
    # celebrities' posts; so following a tag costs no writes, and Redis and the fallback pages agree.
    tagged = followed_tag_post_ids(user=reader, max_id=max_id, min_id=min_id, limit=limit)
    if tagged:
        ids = sorted(set(ids) | set(tagged), reverse=min_id is None)[:limit]
    return ids


def feed_home_page(
    *,
    viewer: User,
    window: IdWindow,
    stored: timeline.TimelineSlice | None,
    accounts: tuple[AccountSet, AccountSet] | None = None,
) -> HomePage:
    """One page of the home timeline, from what services.home_timeline_prepare read in Redis (`stored`; None: read
    the database; `accounts`: the viewer's hidden and muted accounts, when read with it, else the page's query
    reads them). A constant number of SQL queries whatever the page size or the number of people followed: the
    posts (and their images), plus the celebrity posts when the user follows any (their list is cached in Redis),
    the followed tags' posts when the user follows any tag (the counter on their row says) and the fallback ids
    when Redis cannot answer."""
    max_id, min_id, limit = window.max_id, window.min_id, window.size
    candidates = _candidate_ids(
        reader=viewer, stored=stored, max_id=max_id, min_id=min_id, limit=home_candidate_count(window)
    )
    more = len(candidates) > limit
    page_ids = candidates[:limit]
    if not page_ids:
        return HomePage(posts=[], next_max_id=None, prev_min_id=None)

    # Redis may lag behind an unfollow or hold a post that just became invisible: the database has the last word.
    follows_tags = user_follows_tags(viewer)

    def still_home(qs):
        me = Param("viewer", viewer.pk)
        following = Follow.objects.filter(follower_id=me).values("followee_id")
        sources = Q(author_id=me) | Q(author_id__in=following)
        if follows_tags:  # else no candidate came from a tag: a shape without the subquery, cheaper to run
            followed_tag = Exists(PostTag.objects.filter(post_id=OuterRef("pk"), tag__follows__user_id=me))
            sources |= Q(visibility=Post.Visibility.PUBLIC) & followed_tag
        return qs.filter(sources, AnyOf("id", IdsParam("ids", page_ids))).order_by("-id")

    source = post_feed_source(viewer=viewer, accounts=accounts)
    posts = source.refine(("home", follows_tags), {"ids": page_ids}, still_home).fetch()
    if min_id is not None:  # paging towards newer posts
        return HomePage(posts=posts, next_max_id=min(page_ids), prev_min_id=max(page_ids) if more else None)
    return HomePage(
        posts=posts,
        next_max_id=min(page_ids) if more else None,
        prev_min_id=max(page_ids) if max_id is not None else None,
    )


# --- rankings -----------------------------------------------------------------------------------------------------
@dataclass
class RankedPage:
    items: list[dict]  # a list page's rows (posts.selectors.post_feed_source), with `reason` for recommendations
    next_cursor: ScoreCursor | None


def trending_compute() -> list[Entry]:
    """The most engaging posts everyone may know of (public and premium, the latter listed locked) of the last
    24 hours, best first."""
    since = timezone.now() - ranking.TRENDING_WINDOW
    weighted = (
        F("likes_count") * Value(settings.FEED_WEIGHT_LIKE)
        + F("comments_count") * Value(settings.FEED_WEIGHT_COMMENT)
        + F("views_count") * Value(settings.FEED_WEIGHT_VIEW)
    )
    rows = (
        Post.objects.filter(
            created_at__gte=since,
            removed_at__isnull=True,
            author__is_active=True,
            visibility__in=[Post.Visibility.PUBLIC, Post.Visibility.PREMIUM],
        )
        .annotate(weighted=weighted)
        .filter(weighted__gt=0)
        .order_by("-weighted", "-id")
        .values_list("id", "likes_count", "comments_count", "views_count", "created_at")[: settings.FEED_TRENDING_SIZE]
    )
    entries = [
        (ranking.log_score(likes=likes, comments=comments, views=views, created_at=created), pid)
        for pid, likes, comments, views, created in rows
    ]
    entries.sort(reverse=True)
    return entries


def trending_entries() -> RankedEntries | None:
    """The stored trending ranking (services.trending_refresh keeps it, packed); None when there is none (or it is
    unreadable). Computed here when Redis is absent or cannot answer: a slower page, never a failed one."""
    client = redis_client()
    try:
        packed = None if client is None else client.get(ranking.TRENDING_KEY)
    except redis.RedisError:
        client = None
        logger.warning("feed: Redis unavailable, computing trending inline")
    if client is None:
        return RankedEntries.of(trending_compute())
    return RankedEntries.unpacked(packed)


def trending_entries_and_accounts(*, viewer) -> tuple[RankedEntries | None, tuple[AccountSet, AccountSet]]:
    """`trending_entries()` and the viewer's hidden and muted accounts, which a trending page's query needs too:
    one Redis round trip for both (when the sets' read could not bring the ranking, it is read on its own)."""
    hidden, muted, values = hidden_and_muted_accounts_with(viewer, ranking.TRENDING_KEY)
    entries = trending_entries() if values is None else RankedEntries.unpacked(values[0])
    return entries, (hidden, muted)


def _descending(entry: Entry) -> tuple[float, int]:
    return -entry[0], -entry[1]


def _start(entries: Sequence[Entry], cursor: ScoreCursor | None) -> int:
    """Where the entries (sorted by score then id, descending) strictly after the cursor begin: a binary search,
    since a cached "for you" list holds up to MAX_CANDIDATES entries and every page walks it."""
    if cursor is None:
        return 0
    return bisect_right(entries, (-cursor.score, -cursor.id), key=_descending)


def _visible_in_order(
    rows: PreparedSource, entries: Sequence[Entry], start: int, wanted: int
) -> tuple[list[dict], list[int], int]:
    """Up to `wanted` rows of `rows` for the posts of the `wanted` entries from `start`, in ranking order; each
    one's index in `entries`; and the index of the first entry not consumed (those hidden now are skipped)."""
    ids = [pid for _, pid in entries[start : start + wanted]]
    visible = {row["id"]: row for row in posts_by_ids(rows, ids)}
    found, indexes = [], []
    for index, pid in enumerate(ids, start):
        row = visible.get(pid)
        if row is not None:
            found.append(row)
            indexes.append(index)
    return found, indexes, start + len(ids)


def _ranked_page(
    *,
    viewer,
    entries: Sequence[Entry],
    cursor: ScoreCursor | None,
    limit: int,
    context: str,
    unliked_only: bool = False,
    accounts: tuple[AccountSet, AccountSet] | None = None,
) -> tuple[list[dict], list[int], ScoreCursor | None]:
    """The page's posts in ranking order (those the viewer may see in this feed `context`, mutes and keyword
    filters applied; `unliked_only`: not those the viewer has liked), each one's index in `entries`, and where the
    next page starts. `accounts`: the viewer's hidden and muted accounts, when read already.

    A ranking is minutes old: meanwhile the viewer may have liked some of it, or blocked, muted or filtered an
    author, and those posts leave the page. The page reads exactly its `limit` entries, and only when some of them
    are hidden now (rarely) reads twice as many entries as it lacks after them, once: two queries at most, and the
    common page pays for no rows it does not show. (Reading a quarter more on every page cost more CPU than the
    rare second read.) A page still short after that ends where it stopped reading. Each post's images, tags and
    mentions are then read once, for the posts shown."""
    source = post_feed_source(viewer=viewer, context=context, accounts=accounts)
    if unliked_only:  # in the query, so a liked post costs no row (`liked_by_me` is the rule's annotation)
        source = source.refine(("unliked",), {}, lambda qs: qs.filter(liked_by_me=False))
    rows = replace(source, after_fetch=None)
    posts, indexes, end = _visible_in_order(rows, entries, _start(entries, cursor), limit)
    missing = limit - len(posts)
    if missing and len(entries) > end:
        # Twice what is missing: as many hidden again still leaves a full page.
        more, more_indexes, end = _visible_in_order(rows, entries, end, 2 * missing)
        posts, indexes = posts + more[:missing], indexes + more_indexes[:missing]
        if len(more) > missing:  # the entries read beyond the last post shown are left for the next page
            end = indexes[-1] + 1
    if source.after_fetch is not None:
        source.after_fetch(posts)
    next_cursor = ScoreCursor(*entries[end - 1]) if len(entries) > end else None
    return posts, indexes, next_cursor


def trending_page(
    *,
    viewer,
    entries: Sequence[Entry],
    accounts: tuple[AccountSet, AccountSet],
    cursor: ScoreCursor | None,
    limit: int,
) -> RankedPage:
    """A page of the trending ranking `entries` as `viewer` may see it; `accounts`: the viewer's hidden and muted
    accounts (services.trending_for_page reads both)."""
    items, _, next_cursor = _ranked_page(
        viewer=viewer, entries=entries, cursor=cursor, limit=limit, context="public", accounts=accounts
    )
    return RankedPage(items=items, next_cursor=next_cursor)


def recommended_candidates(*, viewer, trending: Sequence[Entry]) -> list[dict]:
    """Candidate posts with what scoring needs. Candidates: posts of the last FEED_RECOMMEND_WINDOW_DAYS liked or
    commented by people the viewer follows, by authors the viewer interacts with, or trending (the `trending`
    ranking, services.trending_ranking); never the viewer's own, already liked, invisible or removed (the
    visibility rule).

    Each source is a small indexed query producing ids; the final query then reads only those posts. (One query
    OR-ing the sources as subqueries made PostgreSQL walk every post of the window.) Four queries in all.
    """
    now = timezone.now()
    since = now - timedelta(days=settings.FEED_RECOMMEND_WINDOW_DAYS)
    following = Follow.objects.filter(follower_id=viewer.pk).values("followee_id")

    liked = dict(
        Like.objects.filter(user_id__in=following, post__created_at__gte=since)
        .values("post_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("post_id", "n")[: ranking.MAX_CANDIDATES]
    )
    commented = dict(
        Comment.objects.filter(author_id__in=following, removed_at__isnull=True, post__created_at__gte=since)
        .values("post_id")
        .annotate(n=Count("author_id", distinct=True))
        .order_by("-n")
        .values_list("post_id", "n")[: ranking.MAX_CANDIDATES]
    )
    recent = now - ranking.AFFINITY_WINDOW
    affinity_authors = set(
        Like.objects.filter(user_id=viewer.pk, created_at__gte=recent)
        .values_list("post__author_id", flat=True)
        .union(
            Comment.objects.filter(author_id=viewer.pk, created_at__gte=recent).values_list(
                "post__author_id", flat=True
            )
        )
    )
    affinity_authors.discard(viewer.pk)
    ids = set(liked) | set(commented) | {pid for _, pid in trending}

    rows = list(
        post_feed_queryset(viewer=viewer)
        # Up to ~1500 ids: bound as one array each, not one placeholder per id (building and sending that SQL cost
        # about a fifth of the computation).
        .filter(
            Q(AnyOf("id", IdsParam("ids", ids))) | Q(AnyOf("author_id", IdsParam("authors", affinity_authors))),
            created_at__gte=since,
        )
        .exclude(author_id=viewer.pk)
        .exclude(id__in=Like.objects.filter(user_id=viewer.pk).values("post_id"))
        .order_by("-id")
        .values("id", "author_id", "likes_count", "comments_count", "views_count", "created_at")[
            : ranking.MAX_CANDIDATES
        ]
    )
    for row in rows:
        row["followee_likes"] = liked.get(row["id"], 0)
        row["followee_comments"] = commented.get(row["id"], 0)
        row["affinity"] = row["author_id"] in affinity_authors
    return rows


def recommended_compute(*, viewer, trending: Sequence[Entry]) -> Recommendations:
    """Engagement * time decay * social proof (followees who liked or commented) * affinity, best first, and why
    each post is there (`trending`: one source of candidates). services.recommended_prepare caches it for
    FEED_RECOMMEND_CACHE_SECONDS."""
    entries, reasons = [], {}
    for row in recommended_candidates(viewer=viewer, trending=trending):
        score = ranking.log_score(
            likes=row["likes_count"],
            comments=row["comments_count"],
            views=row["views_count"],
            created_at=row["created_at"],
            social=row["followee_likes"] + row["followee_comments"],
            affinity=row["affinity"],
        )
        entries.append((score, row["id"]))
        reasons[row["id"]] = ranking.recommendation_reason(
            followee_likes=row["followee_likes"], followee_comments=row["followee_comments"], affinity=row["affinity"]
        )
    entries.sort(reverse=True)
    return Recommendations(entries=RankedEntries.of(entries), codes=bytes(reasons[pid] for _, pid in entries))


def recommended_page(
    *,
    viewer,
    recommendations: Recommendations,
    cursor: ScoreCursor | None,
    limit: int,
    accounts: tuple[AccountSet, AccountSet] | None = None,
) -> RankedPage:
    """One page of the viewer's ranking, however old: the visibility rule, mutes, filters and the viewer's likes
    are applied now, on the page's posts (a post liked since the ranking was made leaves it). `accounts`: the
    viewer's hidden and muted accounts when read with the ranking (services.recommended_prepare)."""
    items, indexes, next_cursor = _ranked_page(
        viewer=viewer,
        entries=recommendations.entries,
        cursor=cursor,
        limit=limit,
        context="home",
        unliked_only=True,
        accounts=accounts,
    )
    for post, index in zip(items, indexes, strict=True):
        post["reason"] = recommendations.reason_at(index)
    return RankedPage(items=items, next_cursor=next_cursor)
