"""Trending and "for you" rankings.

Scores are kept in log space with the time decay folded in against a fixed epoch:

    log_score = ln(engagement) + ln(social proof) + ln(affinity) + ln(2) * created_at / half_life

`engagement * 0.5^(age / half_life)` ranks posts exactly like `engagement * 2^(created_at / half_life)`, because
every post ages at the same rate. So a score does not change while time passes, only when engagement does, and a
(score, id) cursor stays stable between pages without storing any per-user snapshot.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, Value
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.comments.models import Comment
from apps.follows.models import Follow
from apps.interactions.models import Like
from apps.posts.models import Post
from apps.posts.selectors import post_feed_queryset

logger = logging.getLogger(__name__)

TRENDING_CACHE_KEY = "feed:trending:v1"
TRENDING_WINDOW = timedelta(hours=24)
# "Authors you interact with": likes and comments of this recent past.
AFFINITY_WINDOW = timedelta(days=30)
AFFINITY_BOOST = 1.5
# Candidates considered per request; the newest ones win when there are more.
MAX_CANDIDATES = 1000


class Reason:
    LIKED_BY_FOLLOWING = "liked_by_following"
    COMMENTED_BY_FOLLOWING = "commented_by_following"
    AUTHOR_YOU_INTERACT_WITH = "author_you_interact_with"
    TRENDING = "trending"


def engagement(*, likes: int, comments: int, views: int) -> float:
    return (
        1.0
        + settings.FEED_WEIGHT_LIKE * likes
        + settings.FEED_WEIGHT_COMMENT * comments
        + settings.FEED_WEIGHT_VIEW * views
    )


def log_score(*, likes: int, comments: int, views: int, created_at, social: int = 0, affinity: bool = False) -> float:
    half_life = settings.FEED_RECOMMEND_HALF_LIFE_HOURS * 3600
    value = math.log(engagement(likes=likes, comments=comments, views=views))
    value += math.log1p(social)
    if affinity:
        value += math.log(AFFINITY_BOOST)
    return value + math.log(2) * created_at.timestamp() / half_life


# --- cursors ------------------------------------------------------------------------------------------------------
def encode_cursor(score: float, post_id: int) -> str:
    return base64.urlsafe_b64encode(f"{score!r}:{post_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> tuple[float, int] | None:
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        score_text, id_text = text.split(":")
        score, post_id = float(score_text), int(id_text)
        if not math.isfinite(score) or post_id < 1:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None
    return score, post_id


def _after(entries: list[tuple[float, int]], cursor: tuple[float, int] | None) -> list[tuple[float, int]]:
    """Entries (sorted by score then id, descending) strictly after the cursor."""
    if cursor is None:
        return entries
    return [e for e in entries if e < cursor]


@dataclass
class RankedPage:
    items: list  # posts, each with `reason` set for recommendations
    next_cursor: str | None


# --- trending -----------------------------------------------------------------------------------------------------
def trending_compute() -> list[tuple[float, int]]:
    """The most engaging posts everyone may know of (public and premium, the latter listed locked) of the last
    24 hours, as (score, id) best first."""
    since = timezone.now() - TRENDING_WINDOW
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
        (log_score(likes=likes, comments=comments, views=views, created_at=created), pid)
        for pid, likes, comments, views, created in rows
    ]
    entries.sort(reverse=True)
    return entries


def trending_refresh() -> list[tuple[float, int]]:
    """Recompute and cache the trending ranking (periodic task on `default`; also on a cache miss)."""
    entries = trending_compute()
    try:
        # Twice the refresh period: one missed beat does not empty the list, a stopped beat cannot freeze it.
        cache.set(TRENDING_CACHE_KEY, entries, timeout=2 * settings.FEED_TRENDING_REFRESH_SECONDS)
    except Exception:
        logger.warning("feed: cannot cache trending", exc_info=True)
    return entries


def trending_entries() -> list[tuple[float, int]]:
    try:
        entries = cache.get(TRENDING_CACHE_KEY)
    except Exception:
        logger.warning("feed: cache unavailable, computing trending inline", exc_info=True)
        return trending_compute()
    if entries is None:
        entries = trending_refresh()
    return [tuple(e) for e in entries]


def _load_in_order(*, viewer, ids: list[int], context: str) -> dict[int, Post]:
    return {p.pk: p for p in post_feed_queryset(viewer=viewer, context=context).filter(id__in=ids)}


def trending_page(*, viewer, cursor: str | None, limit: int) -> RankedPage:
    entries = _after(trending_entries(), decode_cursor(cursor))
    window = entries[: limit + 1]
    page = window[:limit]
    posts = _load_in_order(viewer=viewer, ids=[pid for _, pid in page], context="public")
    items = [posts[pid] for _, pid in page if pid in posts]
    next_cursor = encode_cursor(*page[-1]) if len(window) > limit else None
    return RankedPage(items=items, next_cursor=next_cursor)


# --- recommendations ----------------------------------------------------------------------------------------------
def recommended_candidates(*, viewer) -> list[dict]:
    """Candidate posts with what scoring needs. Candidates: posts of the last FEED_RECOMMEND_WINDOW_DAYS liked or
    commented by people the viewer follows, by authors the viewer interacts with, or trending; never the viewer's
    own, already liked, invisible or removed (the visibility rule).

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
        .values_list("post_id", "n")[:MAX_CANDIDATES]
    )
    commented = dict(
        Comment.objects.filter(author_id__in=following, removed_at__isnull=True, post__created_at__gte=since)
        .values("post_id")
        .annotate(n=Count("author_id", distinct=True))
        .order_by("-n")
        .values_list("post_id", "n")[:MAX_CANDIDATES]
    )
    recent = now - AFFINITY_WINDOW
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
    ids = set(liked) | set(commented) | {pid for _, pid in trending_entries()}

    rows = list(
        post_feed_queryset(viewer=viewer)
        .filter(Q(id__in=ids) | Q(author_id__in=affinity_authors), created_at__gte=since)
        .exclude(author_id=viewer.pk)
        .exclude(id__in=Like.objects.filter(user_id=viewer.pk).values("post_id"))
        .order_by("-id")
        .values("id", "author_id", "likes_count", "comments_count", "views_count", "created_at")[:MAX_CANDIDATES]
    )
    for row in rows:
        row["followee_likes"] = liked.get(row["id"], 0)
        row["followee_comments"] = commented.get(row["id"], 0)
        row["affinity"] = row["author_id"] in affinity_authors
    return rows


def _reason(row: dict) -> str:
    if row["followee_likes"]:
        return Reason.LIKED_BY_FOLLOWING
    if row["followee_comments"]:
        return Reason.COMMENTED_BY_FOLLOWING
    if row["affinity"]:
        return Reason.AUTHOR_YOU_INTERACT_WITH
    return Reason.TRENDING


def recommended_page(*, viewer, cursor: str | None, limit: int) -> RankedPage:
    """Engagement * time decay * social proof (followees who liked or commented) * affinity, best first."""
    rows = recommended_candidates(viewer=viewer)
    reasons = {}
    entries = []
    for row in rows:
        score = log_score(
            likes=row["likes_count"],
            comments=row["comments_count"],
            views=row["views_count"],
            created_at=row["created_at"],
            social=row["followee_likes"] + row["followee_comments"],
            affinity=row["affinity"],
        )
        entries.append((score, row["id"]))
        reasons[row["id"]] = _reason(row)
    entries.sort(reverse=True)
    window = _after(entries, decode_cursor(cursor))[: limit + 1]
    page = window[:limit]
    posts = _load_in_order(viewer=viewer, ids=[pid for _, pid in page], context="home")
    items = []
    for _, pid in page:
        post = posts.get(pid)
        if post is not None:
            post.reason = reasons[pid]
            items.append(post)
    return RankedPage(items=items, next_cursor=encode_cursor(*page[-1]) if len(window) > limit else None)
