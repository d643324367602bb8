"""Reads of comments. A comment is visible exactly when its post is (posts.selectors) and the comment itself is
neither removed nor written by a deactivated account; a locked post's comments are refused, not hidden."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.posts.models import Post
from apps.posts.selectors import Viewer, post_get_visible
from apps.safety.selectors import exclude_filtered, hidden_accounts

from .models import Comment


def comment_base_queryset() -> QuerySet[Comment]:
    return Comment.objects.filter(removed_at__isnull=True, author__is_active=True).select_related(
        "author", "author__avatar"
    )


def comment_visible_queryset(*, viewer: Viewer) -> QuerySet[Comment]:
    """Comments `viewer` may see once they may see the post: not by an account a block stands between (either
    way; no extra query: apps.safety gives cached ids or subqueries). Muted authors' comments stay (API.md)."""
    return hidden_accounts(viewer).exclude_from(comment_base_queryset(), "author_id")


def comment_list_for_post(*, viewer: Viewer, post: Post, parent_id: int | None = None) -> QuerySet[Comment]:
    """Top-level comments of `post` (or the replies to `parent_id`), oldest first. The caller has already
    checked that the viewer may see the post and that it is not locked for them."""
    qs = comment_visible_queryset(viewer=viewer).filter(post=post, parent_id=parent_id)  # None: top level
    return exclude_filtered(qs, viewer, context="thread").order_by("id")


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
