"""Every read of tags: a tag by name, its timeline (through THE visibility rule), trending tags, and the
followed-tag posts the home feed merges in."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db.models import CharField, Count
from django.http import Http404
from django.utils import timezone

from apps.common.prepared import Param, PreparedSource
from apps.posts.models import Post
from apps.posts.selectors import Viewer, post_feed_queryset, post_feed_source
from apps.users.models import User

from .models import PostTag, Tag, TagFollow
from .parsing import tag_key, tag_name_is_valid

TRENDING_WINDOW = timedelta(hours=24)
TRENDING_SIZE = 20
TRENDING_CACHE_KEY = "tags:trending"
# Longer than the beat interval (settings: refresh-trending-tags), so the cache never goes cold between refreshes.
TRENDING_CACHE_SECONDS = 15 * 60


def tag_key_from_path(name: str) -> str:
    """The key a tag name in a URL stands for (NFKC + lower case); Http404 for a name that could not be a tag
    (nothing to look up, never a 500)."""
    if len(name) > 2 * Tag._meta.get_field("name").max_length or not tag_name_is_valid(tag_key(name)):
        raise Http404("No such tag.")
    return tag_key(name)


def tag_get(*, name: str) -> Tag:
    """The tag `name` stands for; Http404 for a tag never used or a name that could not be a tag."""
    tag = Tag.objects.filter(key=tag_key_from_path(name)).first()
    if tag is None:
        raise Http404("No such tag.")
    return tag


def tag_posts(*, viewer: Viewer, key: str) -> PreparedSource:
    """A tag's timeline: the posts carrying the tag `key` that `viewer` may see, minus muted authors and what
    their "public" keyword filters hide (API.md), as a list page's rows (posts.selectors.post_feed_source); the
    pagination orders it (newest first). Premium posts come back locked as everywhere. By key, in the page's own
    query, prepared like /posts/: a page costs the same statement and the same Python as a /posts/ page."""
    return post_feed_source(viewer=viewer, context="public").refine(
        ("tag",),
        {"tag": key},
        lambda qs: qs.filter(post_tags__tag__key=Param("tag", key, output_field=CharField())),
    )


def tag_exists(*, key: str) -> bool:
    return Tag.objects.filter(key=key).exists()


def tag_posts_count(*, viewer: Viewer, tag: Tag) -> int:
    """How many of the tag's posts `viewer` could list: nothing they may not see is counted."""
    return post_feed_queryset(viewer=viewer, context="public").filter(post_tags__tag=tag).count()


def tag_is_followed(*, viewer: Viewer, tag: Tag) -> bool:
    return bool(getattr(viewer, "is_authenticated", False)) and TagFollow.objects.filter(user=viewer, tag=tag).exists()


def trending_tags_compute() -> list[dict]:
    """Tags of the last 24 h by distinct authors, then posts. Only posts anyone may open count (public, author
    public and active, not removed): a count must not reveal followers-only, private or premium activity."""
    since = timezone.now() - TRENDING_WINDOW
    rows = (
        PostTag.objects.filter(
            post__created_at__gte=since,
            post__visibility=Post.Visibility.PUBLIC,
            post__removed_at__isnull=True,
            post__author__is_active=True,
            post__author__is_private=False,
        )
        .values("tag__name")
        .annotate(accounts_count=Count("post__author", distinct=True), posts_count=Count("post", distinct=True))
        .order_by("-accounts_count", "-posts_count", "tag__name")[:TRENDING_SIZE]
    )
    return [
        {"name": row["tag__name"], "posts_count": row["posts_count"], "accounts_count": row["accounts_count"]}
        for row in rows
    ]


def trending_tags() -> list[dict]:
    """The cached list (refreshed by beat, apps.tags.services.trending_tags_refresh), computed when it is missing."""
    cached = cache.get(TRENDING_CACHE_KEY)
    if cached is not None:
        return cached
    computed = trending_tags_compute()
    cache.set(TRENDING_CACHE_KEY, computed, TRENDING_CACHE_SECONDS)
    return computed


def user_follows_tags(user: User) -> bool:
    """Whether `user` may follow any tag, from the counter on their row (services keep it in the transaction of
    each follow and unfollow): no query. Rows written around the services (a tag deleted with its follows, manual
    SQL) make it drift; the hourly recount (services.tags_counters_recount) repairs it."""
    return user.followed_tags_count > 0


def followed_tag_post_ids(*, user: User, max_id: int | None, min_id: int | None, limit: int) -> list[int]:
    """Public posts carrying a tag `user` follows, in the page's window (newest first, oldest first with min_id):
    one query walking the (tag, post) index of each followed tag, none for a user who follows no tag (most). The
    home feed filters the result through the visibility rule again."""
    if not user_follows_tags(user):
        return []
    qs = PostTag.objects.filter(
        tag_id__in=TagFollow.objects.filter(user_id=user.pk).values("tag_id"),
        post__visibility=Post.Visibility.PUBLIC,
        post__removed_at__isnull=True,
    )
    if max_id is not None:
        qs = qs.filter(post_id__lt=max_id)
    if min_id is not None:
        qs = qs.filter(post_id__gt=min_id)
    order = "post_id" if min_id is not None else "-post_id"
    return list(dict.fromkeys(qs.order_by(order).values_list("post_id", flat=True)[: limit * 2]))[:limit]
