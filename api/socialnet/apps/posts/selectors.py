"""THE visibility rule for posts. Every path that shows a post (lists, detail, comments, likes, feeds,
notifications, images) starts from `post_visible_queryset`, so "who may see what" is decided here only."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value
from django.db.models.query import ModelIterable
from django.shortcuts import get_object_or_404

from apps.follows.models import Follow
from apps.images.models import Image
from apps.images.selectors import images_by_post
from apps.safety.selectors import exclude_filtered, hidden_accounts, muted_accounts
from apps.users.models import User

from .models import Post

Viewer = User | AnonymousUser


def viewer_sees_premium(viewer: Viewer) -> bool:
    """Premium content is open to premium users (not expired) and staff; authors are handled per post."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    return bool(viewer.is_premium or viewer.is_staff or viewer.is_moderator)


def _tables() -> dict[str, str]:
    # The tag and mention rows belong to the tags app, above posts: reached through the relations it declares on
    # Post, never imported.
    tag_rows = Post._meta.get_field("post_tags").related_model
    mention_rows = Post._meta.get_field("post_mentions").related_model
    return {
        "post_tag": tag_rows._meta.db_table,
        "tag": tag_rows._meta.get_field("tag").related_model._meta.db_table,
        "mention": mention_rows._meta.db_table,
        "user": User._meta.db_table,
    }


# Plain SQL: two fixed statements whose only parameter is the page's ids. Built through the ORM they cost more
# Python time (filters, joins, compilation) than the post query itself, for rows this simple.
_TAG_NAMES_SQL = (
    "SELECT pt.post_id, t.name FROM {post_tag} pt JOIN {tag} t ON t.id = pt.tag_id "
    "WHERE pt.post_id IN ({ids}) ORDER BY pt.id"
)
_MENTION_CARDS_SQL = (
    "SELECT m.post_id, u.id, u.username FROM {mention} m JOIN {user} u ON u.id = m.user_id "
    "WHERE m.post_id IN ({ids}) AND u.is_active ORDER BY m.id"
)


def _rows(sql: str, ids: list[int]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=", ".join(["%s"] * len(ids)), **_tables()), ids)
        return cursor.fetchall()


def _attach_page_extras(posts: list[Post]) -> None:
    """Give each post what the post object shows beyond its own row: `ordered_images`, `tag_names` (as first
    written, in text order) and `mention_cards` (active accounts only). Three flat queries for the whole page,
    whatever its size.

    Not prefetch_related: Django's prefetching instantiates a model per tag and mention row (a whole User for each
    mention), caches them through related managers and builds a queryset per post on every `.all()`; on a 20-post
    page that cost several times the queries themselves."""
    if not posts:
        return
    ids = [post.pk for post in posts]
    images = images_by_post(post_ids=ids)
    tags: dict[int, list[str]] = {}
    for post_id, name in _rows(_TAG_NAMES_SQL, ids):
        tags.setdefault(post_id, []).append(name)
    mentions: dict[int, list[dict]] = {}
    for post_id, user_id, username in _rows(_MENTION_CARDS_SQL, ids):
        mentions.setdefault(post_id, []).append({"id": user_id, "username": username})
    for post in posts:
        post.ordered_images = images.get(post.pk, [])
        post.tag_names = tags.get(post.pk, [])
        post.mention_cards = mentions.get(post.pk, [])


def post_page_extras(post: Post) -> Post:
    """`post` with its images, tag names and mentions: as loaded with its page, or read now (one post)."""
    if not hasattr(post, "tag_names"):
        _attach_page_extras([post])
    return post


# What a post object needs of its author (the card and whether the account is private) and of the author's avatar:
# the whole user and image rows are ~50 columns, a dozen of them timestamps, that every row of every page would
# otherwise fetch, convert and instantiate. A deferred column is still loaded on access (one query), never wrong.
_PAGE_COLUMNS = (
    *(field.name for field in Post._meta.concrete_fields),
    "author__username",
    "author__is_active",
    "author__is_private",
    "author__avatar",
    *(
        f"author__avatar__{name}"
        for name in ("status", "width", "height", "blurhash", "alt_text", "storage_prefix", "original_ext")
    ),
)


class _PostPageQuerySet(QuerySet):
    """Posts that get their page extras (`_attach_page_extras`) when the queryset is evaluated, like a prefetch:
    lists, slices, pagination and prefetches of other models (e.g. notifications' posts) all go through here."""

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._iterable_class is ModelIterable:
            _attach_page_extras(self._result_cache)


def post_visible_queryset(*, viewer: Viewer, page_extras: bool = True) -> QuerySet[Post]:
    """Posts `viewer` may see, annotated with `is_locked` and `liked_by_me`, authors joined; each post read gets
    its images, tag names and mentions (`_attach_page_extras`) unless `page_extras` is False (a subquery, or a
    list that shows only a post's text).

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
        (_PostPageQuerySet(model=Post) if page_extras else Post.objects.all())
        .filter(removed_at__isnull=True, author__is_active=True)
        .select_related("author", "author__avatar")
        .only(*_PAGE_COLUMNS)
    )
    open_to_all = Q(visibility__in=[Post.Visibility.PUBLIC, Post.Visibility.PREMIUM])

    if not getattr(viewer, "is_authenticated", False):
        return qs.filter(open_to_all, author__is_private=False).annotate(
            is_locked=ExpressionWrapper(Q(visibility=Post.Visibility.PREMIUM), output_field=BooleanField()),
            liked_by_me=Value(False, output_field=BooleanField()),
        )

    qs = hidden_accounts(viewer).exclude_from(qs, "author_id")
    follows_author = Exists(Follow.objects.filter(follower_id=viewer.pk, followee_id=OuterRef("author_id")))
    own = Q(author_id=viewer.pk)
    if viewer.is_moderator:
        # Moderators see private accounts' posts (to moderate them), followers-only ones still only as followers.
        qs = qs.filter(open_to_all | own | (Q(visibility=Post.Visibility.FOLLOWERS) & follows_author))
    else:
        # The followers-only rule and the private-account rule in one condition with one EXISTS (every visibility is
        # open to a follower; to anyone else only public/premium posts of public accounts are): the same rows as
        # the two rules side by side, for half the SQL to build, compile and plan on every page.
        qs = qs.filter(own | follows_author | (open_to_all & Q(author__is_private=False)))
    if viewer_sees_premium(viewer):
        is_locked = Value(False, output_field=BooleanField())
    else:
        is_locked = ExpressionWrapper(
            Q(visibility=Post.Visibility.PREMIUM) & ~Q(author_id=viewer.pk), output_field=BooleanField()
        )
    # The like rows belong to the interactions app, above posts: reached through the relation it declares on Post,
    # never imported; straight on the like table (the unique (user, post) index), not through a join with users.
    like_rows = Post._meta.get_field("likes").related_model
    return qs.annotate(
        is_locked=is_locked,
        liked_by_me=Exists(like_rows.objects.filter(user_id=viewer.pk, post_id=OuterRef("pk"))),
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
    """The post as `viewer` may see it; Http404 when it is absent or hidden from them (never reveal which).
    Without its images, tags and mentions: most callers only check access (comments, likes, reports); the post
    serializer reads them when it shows the post (`post_page_extras`)."""
    return get_object_or_404(post_visible_queryset(viewer=viewer, page_extras=False), pk=post_id)


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
