"""Reading the home feed: ids from Redis (or PostgreSQL when Redis cannot answer), celebrity posts merged in,
then one query for the posts through THE visibility rule (apps.posts.selectors)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db.models import Q

from apps.follows.models import Follow
from apps.posts.models import Post
from apps.posts.selectors import post_feed_queryset
from apps.users.models import User

from . import services, timeline

logger = logging.getLogger(__name__)


@dataclass
class HomePage:
    posts: list[Post]
    next_max_id: int | None  # older page
    prev_min_id: int | None  # newer page


def followed_celebrities(*, user_id: int) -> list[int]:
    """Followed authors whose posts are merged at read time (more than FEED_CELEBRITY_THRESHOLD followers)."""
    return list(
        Follow.objects.filter(
            follower_id=user_id, followee__followers_count__gt=settings.FEED_CELEBRITY_THRESHOLD
        ).values_list("followee_id", flat=True)
    )


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


def _candidate_ids(
    *, user_id: int, max_id: int | None, min_id: int | None, limit: int, following_count: int | None = None
) -> list[int]:
    """Up to `limit` ids in page order: newest first, or oldest first when paging towards newer posts."""
    ids: list[int] | None = None
    client = timeline.timeline_client()
    if client is not None:
        try:
            result = timeline.timeline_read(client=client, user_id=user_id, max_id=max_id, min_id=min_id, limit=limit)
            if result is None:
                services.timeline_rebuild(user_id=user_id, following_count=following_count)
                result = timeline.timeline_read(
                    client=client, user_id=user_id, max_id=max_id, min_id=min_id, limit=limit
                )
            if result is not None and not result.truncated:  # truncated: the database has what lies beyond
                celebrities = result.celebrities
                if celebrities is None:
                    celebrities = followed_celebrities(user_id=user_id)
                    timeline.celebrities_store(client=client, user_id=user_id, author_ids=celebrities)
                merged = _celebrity_post_ids(celebrities=celebrities, max_id=max_id, min_id=min_id, limit=limit)
                ids = sorted(set(result.ids) | set(merged), reverse=min_id is None)[:limit]
        except redis.RedisError:
            logger.warning("feed: timeline store unavailable, reading user %s's feed from the database", user_id)
            ids = None
    if ids is None:
        ids = services.home_post_ids_from_db(
            user_id=user_id, max_id=max_id, min_id=min_id, limit=limit, following_count=following_count
        )
    return ids


def feed_home_page(*, viewer: User, max_id: int | None = None, min_id: int | None = None, limit: int = 20) -> HomePage:
    """One page of the home timeline. A constant number of SQL queries whatever the page size or the number of
    people followed: the posts (and their images), plus the celebrity posts when the user follows any (their list
    is cached in Redis) or the fallback ids when Redis cannot answer."""
    candidates = _candidate_ids(
        user_id=viewer.pk, max_id=max_id, min_id=min_id, limit=limit + 1, following_count=viewer.following_count
    )
    more = len(candidates) > limit
    page_ids = candidates[:limit]
    if not page_ids:
        return HomePage(posts=[], next_max_id=None, prev_min_id=None)
    # Redis may lag behind an unfollow or hold a post that just became invisible: the database has the last word.
    following = Follow.objects.filter(follower_id=viewer.pk).values("followee_id")
    posts = list(
        post_feed_queryset(viewer=viewer)
        .filter(Q(author_id=viewer.pk) | Q(author_id__in=following), id__in=page_ids)
        .order_by("-id")
    )
    if min_id is not None:  # paging towards newer posts
        return HomePage(posts=posts, next_max_id=min(page_ids), prev_min_id=max(page_ids) if more else None)
    return HomePage(
        posts=posts,
        next_max_id=min(page_ids) if more else None,
        prev_min_id=max(page_ids) if max_id is not None else None,
    )
