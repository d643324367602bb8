"""Reads of comments. A comment is visible exactly when its post is (posts.selectors) and the comment itself is
neither removed nor written by a deactivated account; a locked post's comments are refused, not hidden."""

from __future__ import annotations

from functools import cache

from django.db.models import Exists, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.common.fields import MAX_ID
from apps.common.prepared import Param, PreparedSource
from apps.posts.models import Post
from apps.posts.selectors import Viewer, post_get_visible, post_visible_source
from apps.safety.selectors import exclude_filtered, filter_values, hidden_accounts
from apps.users.serializers import author_card_columns

from .models import Comment


def comment_base_queryset() -> QuerySet[Comment]:
    return Comment.objects.filter(removed_at__isnull=True, author__is_active=True).select_related(
        "author", "author__avatar"
    )


def comment_visible_queryset(*, viewer: Viewer) -> QuerySet[Comment]:
    """Comments `viewer` may see once they may see the post: not by an account a block stands between (either
    way; no extra query: apps.safety gives cached ids or subqueries). Muted authors' comments stay (API.md)."""
    return hidden_accounts(viewer).exclude_from(comment_base_queryset(), "author_id")


# What a thread shows of a comment and of its author (serializers.thread_payload): plain rows, not models. A page's
# 20 comments and 20 authors instantiated as models (each __init__ walking every field of the model, a user's 25)
# cost more Python than the rest of the fetch.
@cache
def _thread_columns() -> tuple[str, ...]:
    # Built on first use: the avatar's columns are declared by the images app at start-up.
    return (
        "id",
        "post_id",
        "parent_id",
        "text",
        "replies_count",
        "created_at",
        "edited_at",
        *author_card_columns("author"),
    )


def comment_thread_source(*, viewer: Viewer, post_id: int, parent_id: int | None = None) -> PreparedSource:
    """Top-level comments of the post (or the replies to `parent_id`) as `viewer` may see them, minus those their
    "thread" keyword filters hide, as values() rows for serializers.thread_payload; the pagination orders them
    (oldest first) and cuts the page.

    Only while the post is open to the viewer: visible and not locked for them (posts.selectors' rule, in the same
    query rather than a query of its own before it). So an empty page is either an empty thread or a post the
    viewer may not open: the caller then tells which (post_get_unlocked: 404 or 403), so what the viewer's
    keyword filters hide can never tell them anything of a locked post's comments.

    A source (apps.common.prepared): its SQL is compiled once per shape (top level or replies, the post rule's
    shape, how blocks are given) and each page only binds the post, the parent, the viewer's values and the
    cursor."""
    if not 0 < post_id <= MAX_ID:  # the URL's <int:...> takes any length; a bound Param is not range-checked
        raise Http404("No Post matches the given query.")
    hidden = hidden_accounts(viewer)  # read once, for the post's author and the comments' authors alike
    posts = post_visible_source(viewer=viewer, page_extras=False, hidden=hidden)
    authenticated = getattr(viewer, "is_authenticated", False)
    now = timezone.now()
    values = {**posts.values, "post": post_id, **hidden.values(), **filter_values(viewer, now)}
    if parent_id is not None:
        values["parent"] = parent_id

    def build() -> QuerySet[Comment]:
        post_is_open = Exists(posts.build().filter(pk=Param("post", post_id), is_locked=False))
        qs = hidden.exclude_from(comment_base_queryset(), "author_id").filter(post_is_open)
        qs = qs.filter(post_id=Param("post", post_id))
        qs = qs.filter(parent__isnull=True) if parent_id is None else qs.filter(parent_id=Param("parent", parent_id))
        return exclude_filtered(qs, viewer, context="thread", now=now).values(*_thread_columns())

    top = "replies" if parent_id is not None else "top"
    return PreparedSource(
        key=("comments.thread", top, authenticated, hidden.shape, *posts.key), values=values, build=build
    )


def comment_get_for_post(*, viewer: Viewer, post: Post, comment_id: int) -> Comment:
    """A visible comment of `post` (Http404 otherwise): validates `?parent=`."""
    comment = comment_visible_queryset(viewer=viewer).filter(post=post, pk=comment_id).first()
    if comment is None:
        raise Http404("No such comment on this post.")
    return comment


def comment_author_hidden(*, viewer: Viewer, comment_id: int) -> bool:
    """Whether the comment was written by an account a block stands between with `viewer` (no query without
    blocks)."""
    hidden = hidden_accounts(viewer)
    return not hidden.is_empty and Comment.objects.filter(hidden.q("author_id"), pk=comment_id).exists()


def comment_get_visible(*, viewer: Viewer, comment_id: int) -> tuple[Comment, Post]:
    """The comment and its post as `viewer` may see it (the post carries `is_locked`); Http404 if hidden."""
    comment = comment_visible_queryset(viewer=viewer).filter(pk=comment_id).first()
    if comment is None:
        raise Http404("Not found.")
    post = post_get_visible(viewer=viewer, post_id=comment.post_id)
    return comment, post


def comment_get_for_delete(*, viewer: Viewer, comment_id: int) -> tuple[Comment, Post]:
    """The comment a DELETE addresses. Moderators and admins may delete any comment (API.md), even on posts they
    cannot read; everyone else goes through the visibility rule (hidden stays 404)."""
    if getattr(viewer, "is_authenticated", False) and viewer.is_moderator:
        comment = comment_base_queryset().select_related("post").filter(pk=comment_id).first()
        if comment is None or comment.post.removed_at is not None:
            raise Http404("Not found.")
        return comment, comment.post
    comment = comment_base_queryset().filter(pk=comment_id).first()
    if comment is None:
        raise Http404("Not found.")
    post = post_get_visible(viewer=viewer, post_id=comment.post_id)
    # A post's author may still delete what someone they blocked had written under it; for anyone else such a
    # comment does not exist.
    if post.author_id != viewer.pk and comment.author_id in hidden_accounts(viewer):
        raise Http404("Not found.")
    return comment, post
