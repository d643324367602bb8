"""THE visibility rule for posts. Every path that shows a post (lists, detail, comments, likes, feeds,
notifications, images) starts from `post_visible_queryset`, so "who may see what" is decided here only."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    Expression,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Lower
from django.db.models.query import ModelIterable
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.common.fields import MAX_ID
from apps.common.prepared import AnyOf, IdsParam, Param, PreparedSource
from apps.follows.models import Follow
from apps.images.models import Image
from apps.safety.selectors import (
    exclude_filtered,
    filter_values,
    hidden_accounts,
    hidden_and_muted_accounts,
    muted_accounts,
)
from apps.users.models import User
from apps.users.serializers import author_card_columns
from apps.users.visibility import EMPTY, AccountSet

from .models import Post
from .page_extras import EXTRAS, PageExtras, attach_extras, attach_row_extras

Viewer = User | AnonymousUser


def viewer_sees_premium(viewer: Viewer) -> bool:
    """Premium content is open to premium users (not expired) and staff; authors are handled per post."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    return bool(viewer.is_premium or viewer.is_staff or viewer.is_moderator)


# What a post object needs of its author (the card and whether the account is private) and of the author's avatar:
# the whole user and image rows are ~50 columns, a dozen of them timestamps, that every row of every page would
# otherwise fetch, convert and instantiate. A deferred column is still loaded on access (one query), never wrong.
@cache
def _page_columns() -> tuple[str, ...]:
    # Built on first use: the avatar's columns are declared by the images app at start-up.
    return (
        *(field.name for field in Post._meta.concrete_fields),
        *author_card_columns("author"),
        "author__is_active",
        "author__is_private",
    )


# What a list page shows of a post, as plain values() rows: no Post, User (or Image, without an avatar) to
# instantiate per row, and none of the columns the post object does not show (`updated_at`, `removed_at`: two more
# timestamps to parse per row). PostSerializer's row payload reads exactly these, plus `attach_row_extras`' keys.
# The post's own columns in the post object (the serializer reads the same names off an instance).
POST_OBJECT_COLUMNS = (
    "id",
    "text",
    "visibility",
    "likes_count",
    "comments_count",
    "views_count",
    "created_at",
    "edited_at",
)


@cache
def _page_row_columns() -> tuple[str, ...]:
    # Built on first use, like _page_columns.
    return (
        *POST_OBJECT_COLUMNS,
        *author_card_columns("author"),
        "author__is_private",
        "is_locked",
        "liked_by_me",
    )


class _PostPageQuerySet(QuerySet):
    """Posts whose page extras column (apps.posts.page_extras) is decoded when the queryset is evaluated: lists,
    slices, pagination and prefetches of other models all go through here."""

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._iterable_class is ModelIterable:
            attach_extras(self._result_cache)


def _post_rows(page_extras: bool) -> QuerySet[Post]:
    return (
        (_PostPageQuerySet(model=Post) if page_extras else Post.objects.all())
        .filter(removed_at__isnull=True, author__is_active=True)
        .select_related("author", "author__avatar")
        .only(*_page_columns())
    )


_OPEN_TO_ALL = Q(visibility__in=[Post.Visibility.PUBLIC, Post.Visibility.PREMIUM])


def post_visible_source(
    *,
    viewer: Viewer,
    page_extras: bool = True,
    mutes: bool = False,
    filter_context: str | None = None,
    hidden: AccountSet | None = None,
    muted: AccountSet | None = None,
) -> PreparedSource:
    """THE rule: posts `viewer` may see, annotated with `is_locked` and `liked_by_me`, authors joined; each post
    read comes with its images, tag names and mentions, read in the same statement (apps.posts.page_extras), unless
    `page_extras` is False (a subquery, an access check, or a list that shows only a post's text).

    - hidden: removed by moderation, or the author is deactivated/suspended;
    - `public`, `premium`: everyone (premium comes back locked unless the viewer is premium, the author or staff);
    - `followers`: the author and users following the author; for everyone else the post does not exist (404);
    - a private account's posts, whatever their visibility: only its approved followers, the author and staff
      (for moderation) see them; for everyone else they do not exist (404, absent from every list and feed);
    - a block between the viewer and the author, either way: the post does not exist for the viewer (404). The
      blocked set is an id array from a cache or subqueries (apps.safety): no extra query either way.
    - `mutes`: minus authors `viewer` mutes right now (the feeds; a mute is softer than a block: the muted
      account's posts stay reachable everywhere else and its comments stay in threads);
    - `filter_context`: minus posts the viewer's keyword filters hide there ("home", "public"); only posts whose
      text the viewer may read are matched, so a filter never tells which words a locked post contains.
    - `hidden`: `hidden_accounts(viewer)`, when the caller has read it already (one cache read per page).

    A source (apps.common.prepared): `fetch()` for the hot lists, whose SQL is compiled once per shape;
    `queryset()`, a plain queryset without ordering, for everything else (callers filter and order it).
    `hidden`: `hidden_accounts(viewer)` when the caller has read it for the same query (one read, one binding);
    `muted` with it, `muted_accounts(viewer)` likewise (only read with `mutes`).
    """
    after_fetch = attach_extras if page_extras else None
    key = ("posts.visible", page_extras, mutes, filter_context)
    if not getattr(viewer, "is_authenticated", False):

        def build_anonymous() -> QuerySet[Post]:
            return (
                _post_rows(page_extras)
                .filter(_OPEN_TO_ALL, author__is_private=False)
                .annotate(
                    is_locked=ExpressionWrapper(Q(visibility=Post.Visibility.PREMIUM), output_field=BooleanField()),
                    liked_by_me=Value(False, output_field=BooleanField()),
                )
                .annotate(**_extras(page_extras))
            )

        return PreparedSource(key=(*key, "anonymous"), values={}, build=build_anonymous, after_fetch=after_fetch)

    if hidden is None:
        hidden, muted = hidden_and_muted_accounts(viewer) if mutes else (hidden_accounts(viewer), EMPTY)
    elif not mutes:
        muted = EMPTY
    elif muted is None:
        muted = muted_accounts(viewer)
    moderator, sees_premium = viewer.is_moderator, viewer_sees_premium(viewer)
    now = timezone.now()
    values = {"viewer": viewer.pk, **hidden.values(), **muted.values()}
    if filter_context is not None:
        values |= filter_values(viewer, now)

    def build() -> QuerySet[Post]:
        me = Param("viewer", viewer.pk)
        qs = muted.exclude_from(hidden.exclude_from(_post_rows(page_extras), "author_id"), "author_id")
        follows_author = Exists(Follow.objects.filter(follower_id=me, followee_id=OuterRef("author_id")))
        own = Q(author_id=me)
        if moderator:
            # Moderators see private accounts' posts (to moderate them), followers-only ones still only as followers.
            qs = qs.filter(_OPEN_TO_ALL | own | (Q(visibility=Post.Visibility.FOLLOWERS) & follows_author))
        else:
            # The followers-only rule and the private-account rule in one condition with one EXISTS (every
            # visibility is open to a follower; to anyone else only public/premium posts of public accounts are):
            # the same rows as the two rules side by side, for half the SQL to plan on every page.
            qs = qs.filter(own | follows_author | (_OPEN_TO_ALL & Q(author__is_private=False)))
        is_locked = post_locked_expression(viewer)
        # The like rows belong to the interactions app, above posts: reached through the relation it declares on
        # Post, never imported; straight on the like table (the unique (user, post) index), not through a join.
        like_rows = Post._meta.get_field("likes").related_model
        qs = qs.annotate(
            is_locked=is_locked,
            liked_by_me=Exists(like_rows.objects.filter(user_id=me, post_id=OuterRef("pk"))),
        )
        if filter_context is not None:
            qs = exclude_filtered(qs, viewer, context=filter_context, readable=Q(is_locked=False), now=now)
        return qs.annotate(**_extras(page_extras))

    shape = ("moderator" if moderator else "member", sees_premium, hidden.shape, muted.shape)
    return PreparedSource(key=(*key, *shape), values=values, build=build, after_fetch=after_fetch)


def post_visible_queryset(*, viewer: Viewer, page_extras: bool = True) -> QuerySet[Post]:
    """The rule above as a plain queryset, without ordering: callers filter it (by author, by an id list for
    feeds) and order it."""
    return post_visible_source(viewer=viewer, page_extras=page_extras).queryset()


def _extras(page_extras: bool) -> dict[str, PageExtras]:
    """The page extras annotation (after `is_locked`, which it reads), when the posts are read with them."""
    return {EXTRAS: PageExtras()} if page_extras else {}


def _page_rows(source: PreparedSource) -> PreparedSource:
    """`source` (the rule without page extras) read as a list page: values() rows of `_page_row_columns`, each
    with its images, tag names and mentions from the same statement (`attach_row_extras`), for PostSerializer's
    `post_rows_payload`."""
    rows = source.refine(
        ("page rows",), {}, lambda qs: qs.annotate(**_extras(True)).values(*_page_row_columns(), EXTRAS)
    )
    return replace(rows, after_fetch=attach_row_extras)


def post_feed_source(
    *, viewer: Viewer, context: str = "home", accounts: tuple[AccountSet, AccountSet] | None = None
) -> PreparedSource:
    """Posts for the feeds, as a list page's rows (`_page_rows`): the rule, minus authors `viewer` mutes right now
    and posts their keyword filters hide in `context` ("home": /feed/ and /feed/recommended/; "public": trending
    and tag timelines). `accounts`: the viewer's hidden and muted accounts when the caller has read them already
    (apps.safety's `hidden_and_muted_accounts_with`)."""
    hidden, muted = (None, None) if accounts is None else accounts
    return _page_rows(
        post_visible_source(
            viewer=viewer, page_extras=False, mutes=True, filter_context=context, hidden=hidden, muted=muted
        )
    )


def post_feed_queryset(*, viewer: Viewer, context: str = "home") -> QuerySet[Post]:
    """The feeds' rule (`post_feed_source`) as a queryset of posts with their page extras."""
    return post_visible_source(viewer=viewer, mutes=True, filter_context=context).queryset()


def posts_by_ids(source: PreparedSource, ids: list[int]) -> list:
    """What `source` reads (posts, or a list page's rows) of the posts of `ids` it lets through (any order): a page
    of ids from Redis or a ranking."""
    if not ids:
        return []
    return source.refine(("by_ids",), {"ids": ids}, lambda qs: qs.filter(AnyOf("id", IdsParam("ids", ids)))).fetch()


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
    return post_row_is_public(post.visibility, author_is_private=post.author.is_private)


def post_row_is_public(visibility: str, *, author_is_private: bool) -> bool:
    """`post_is_public` of a list page's row (`_page_row_columns`), from its columns."""
    return visibility == Post.Visibility.PUBLIC and not author_is_private


def post_may_open(viewer: Viewer, post_id: int) -> bool:
    """Whether `viewer` may see the post and its content (visible and not locked)."""
    return post_visible_queryset(viewer=viewer).filter(pk=post_id, is_locked=False).exists()


def post_get_visible(*, viewer: Viewer, post_id: int, page_extras: bool = False) -> Post:
    """The post as `viewer` may see it; Http404 when it is absent or hidden from them (never reveal which).
    With its images, tags and mentions only with `page_extras` (to show it): most callers only check access
    (comments, likes, reports).

    A prepared fetch (apps.common.prepared), like the lists: likes, views, reports and replies start here."""
    if not 0 < post_id <= MAX_ID:  # the URL's <int:...> takes any length; a bound Param is not range-checked
        raise Http404("No Post matches the given query.")
    source = post_visible_source(viewer=viewer, page_extras=page_extras)
    posts = source.refine(("by_id",), {"id": post_id}, lambda qs: qs.filter(pk=Param("id", post_id))).fetch()
    if not posts:
        raise Http404("No Post matches the given query.")
    return posts[0]


def post_get_for_delete(*, viewer: Viewer, post_id: int) -> Post:
    """The post a DELETE addresses. Moderators and admins may delete any post (API.md), including followers-only
    posts they cannot read; for everyone else it is the visibility rule, so a hidden post stays a 404."""
    if getattr(viewer, "is_authenticated", False) and viewer.is_moderator:
        return get_object_or_404(Post.objects.filter(removed_at__isnull=True), pk=post_id)
    return post_get_visible(viewer=viewer, post_id=post_id)


def post_list_source(*, viewer: Viewer, author_username: str | None = None) -> PreparedSource:
    """GET /posts/: everything the viewer may see (minus what their "public" keyword filters hide), optionally one
    author's posts, as a list page's rows (`_page_rows`); the pagination orders it (newest first) and cuts the
    page."""
    source = _page_rows(post_visible_source(viewer=viewer, page_extras=False, filter_context="public"))
    if author_username is None:
        return source
    return source.refine(
        ("author",),
        {"author": author_username},
        # lower() = lower(): the expression of the unique index on names (and `__iexact` would quote a Param's
        # placeholder as a LIKE pattern on SQLite).
        lambda qs: qs.alias(author_lower=Lower("author__username")).filter(
            author_lower=Lower(Param("author", author_username, output_field=CharField()))
        ),
    )


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


def post_locked_expression(viewer: User, prefix: str = "") -> Expression:
    """The rule's `is_locked` for an authenticated `viewer`, on rows that reach the post through `prefix` (e.g.
    "post__" for notifications, which show a visible post's text without reading the post through the rule):
    premium, unless the viewer sees premium content or wrote the post. Its one varying value is the Param "viewer"."""
    if viewer_sees_premium(viewer):
        return Value(False, output_field=BooleanField())
    premium = Q(**{f"{prefix}visibility": Post.Visibility.PREMIUM})
    return ExpressionWrapper(
        premium & ~Q(**{f"{prefix}author_id": Param("viewer", viewer.pk)}), output_field=BooleanField()
    )


def post_readable_q(viewer: Viewer, prefix: str = "") -> Q:
    """Rows (whose post is reached through `prefix`) whose post text `viewer` may read: not premium-locked for them.
    For filtering by text (keyword filters), where matching a locked post would reveal its words."""
    if viewer_sees_premium(viewer):
        return Q()
    return ~Q(**{f"{prefix}visibility": Post.Visibility.PREMIUM}) | Q(
        **{f"{prefix}author_id": Param("viewer", viewer.pk)}
    )
