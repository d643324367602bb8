"""THE visibility rule for posts. Every path that shows a post (lists, detail, comments, likes, feeds,
notifications, images) starts from `post_visible_queryset`, so "who may see what" is decided here only."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Prefetch, Q, QuerySet, Value
from django.shortcuts import get_object_or_404

from apps.follows.models import Follow
from apps.images.models import Image
from apps.images.selectors import post_images_prefetch
from apps.safety.selectors import exclude_filtered, hidden_accounts, muted_accounts
from apps.users.models import User

from .models import Post

Viewer = User | AnonymousUser


def viewer_sees_premium(viewer: Viewer) -> bool:
    """Premium content is open to premium users (not expired) and staff; authors are handled per post."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    return bool(viewer.is_premium or viewer.is_staff or viewer.is_moderator)


def _discovery_prefetches() -> list[Prefetch]:
    """Each post's tags and mentions (the post object carries them): two queries per page, whatever its size.
    The rows belong to the tags app, above posts: reached through the relations it declares on Post, never
    imported."""
    tag_rows = Post._meta.get_field("post_tags").related_model
    mention_rows = Post._meta.get_field("post_mentions").related_model
    return [
        Prefetch("post_tags", queryset=tag_rows.objects.select_related("tag").order_by("id")),
        Prefetch("post_mentions", queryset=mention_rows.objects.select_related("user").order_by("id")),
    ]


def post_visible_queryset(*, viewer: Viewer) -> QuerySet[Post]:
    """Posts `viewer` may see, annotated with `is_locked` and `liked_by_me`, authors joined.

    - hidden: removed by moderation, or the author is deactivated/suspended;
    - `public`, `premium`: everyone (premium comes back locked unless the viewer is premium, the author or staff);
    - `followers`: the author and users following the author; for everyone else the post does not exist (404);
    - a private account's posts, whatever their visibility: only its approved followers, the author and staff
      (for moderation) see them; for everyone else they do not exist (404, absent from every list and feed);
    - a block between the viewer and the author, either way: the post does not exist for the viewer (404). The
      blocked set is literal ids from a cache or subqueries (apps.safety): no extra query either way.

    A plain queryset without ordering: callers filter it (by author, by an id list for feeds) and order it.
    """
    qs = (
        Post.objects.filter(removed_at__isnull=True, author__is_active=True)
        .select_related("author", "author__avatar")
        .prefetch_related(post_images_prefetch())  # one query per page for every post's images
        .prefetch_related(*_discovery_prefetches())
    )
    open_to_all = Q(visibility__in=[Post.Visibility.PUBLIC, Post.Visibility.PREMIUM])

    if not getattr(viewer, "is_authenticated", False):
        return qs.filter(open_to_all, author__is_private=False).annotate(
            is_locked=ExpressionWrapper(Q(visibility=Post.Visibility.PREMIUM), output_field=BooleanField()),
            liked_by_me=Value(False, output_field=BooleanField()),
        )

    qs = hidden_accounts(viewer).exclude_from(qs, "author_id")
    follows_author = Exists(Follow.objects.filter(follower_id=viewer.pk, followee_id=OuterRef("author_id")))
    qs = qs.filter(open_to_all | Q(author_id=viewer.pk) | (Q(visibility=Post.Visibility.FOLLOWERS) & follows_author))
    if not viewer.is_moderator:
        qs = qs.filter(Q(author__is_private=False) | Q(author_id=viewer.pk) | follows_author)
    if viewer_sees_premium(viewer):
        is_locked = Value(False, output_field=BooleanField())
    else:
        is_locked = ExpressionWrapper(
            Q(visibility=Post.Visibility.PREMIUM) & ~Q(author_id=viewer.pk), output_field=BooleanField()
        )
    return qs.annotate(
        is_locked=is_locked,
        # Through the relation the interactions app declares on User (`likes`): posts never imports interactions.
        liked_by_me=Exists(User.objects.filter(pk=viewer.pk, likes__post_id=OuterRef("pk"))),
    )


def post_feed_queryset(*, viewer: Viewer, context: str = "home") -> QuerySet[Post]:
    """Posts for the feeds: the rule above, minus authors `viewer` mutes right now and posts their keyword filters
    hide in `context` ("home": /feed/ and /feed/recommended/; "public": trending). A mute is softer than a block:
    the muted account's posts stay reachable everywhere else (profile, /posts/, detail) and its comments stay in
    threads. Cached ids or subqueries, like blocks: no extra query."""
    qs = muted_accounts(viewer).exclude_from(post_visible_queryset(viewer=viewer), "author_id")
    return exclude_filtered(qs, viewer, context=context, readable=Q(is_locked=False))


def post_public_q(prefix: str = "") -> Q:
    """Posts anyone, anonymous included, may open (the anonymous case of the rule above, minus the premium lock);
    `prefix` is the path to the post from the rows being filtered (e.g. "post__" for images)."""
    return Q(
        **{
            f"{prefix}visibility": Post.Visibility.PUBLIC,
            f"{prefix}removed_at__isnull": True,
            f"{prefix}author__is_active": True,
            f"{prefix}author__is_private": False,
        }
    )


def post_is_public(post: Post) -> bool:
    """For a post read through `post_visible_queryset` (so not removed, author active and joined): may anyone
    open it? Not a private account's: its images then get signed, expiring URLs like any non-public post's."""
    return post.visibility == Post.Visibility.PUBLIC and not post.author.is_private


def post_may_open(viewer: Viewer, post_id: int) -> bool:
    """Whether `viewer` may see the post and its content (visible and not locked)."""
    return post_visible_queryset(viewer=viewer).filter(pk=post_id, is_locked=False).exists()


def post_get_visible(*, viewer: Viewer, post_id: int) -> Post:
    """The post as `viewer` may see it; Http404 when it is absent or hidden from them (never reveal which)."""
    return get_object_or_404(post_visible_queryset(viewer=viewer), pk=post_id)


def post_get_for_delete(*, viewer: Viewer, post_id: int) -> Post:
    """The post a DELETE addresses. Moderators and admins may delete any post (API.md), including followers-only
    posts they cannot read; for everyone else it is the visibility rule, so a hidden post stays a 404."""
    if getattr(viewer, "is_authenticated", False) and viewer.is_moderator:
        return get_object_or_404(Post.objects.filter(removed_at__isnull=True), pk=post_id)
    return post_get_visible(viewer=viewer, post_id=post_id)


def post_list_visible(*, viewer: Viewer, author_username: str | None = None) -> QuerySet[Post]:
    """GET /posts/: everything the viewer may see (minus what their "public" keyword filters hide), newest first,
    optionally one author's posts."""
    qs = exclude_filtered(post_visible_queryset(viewer=viewer), viewer, context="public", readable=Q(is_locked=False))
    if author_username is not None:
        qs = qs.filter(author__username__iexact=author_username)
    return qs.order_by("-id")


def post_has_images(*, post: Post) -> bool:
    """Whether a post has images attached (a post may have empty text only then)."""
    return Image.objects.filter(post_id=post.pk).exists()


def post_get_unlocked(*, viewer: Viewer, post_id: int) -> Post:
    """A visible post whose content the viewer may access: Http404 if hidden, PermissionDenied (403) if locked.

    For everything that reaches into a post's content or engages with it: comments, likes, views, images.
    """
    post = post_get_visible(viewer=viewer, post_id=post_id)
    if post.is_locked:
        raise PermissionDenied("This post is for premium members.")
    return post


def post_readable_q(viewer: Viewer, prefix: str = "") -> Q:
    """Rows (whose post is reached through `prefix`) whose post text `viewer` may read: not premium-locked for them.
    For filtering by text (keyword filters), where matching a locked post would reveal its words."""
    if viewer_sees_premium(viewer):
        return Q()
    return ~Q(**{f"{prefix}visibility": Post.Visibility.PREMIUM}) | Q(**{f"{prefix}author_id": viewer.pk})
