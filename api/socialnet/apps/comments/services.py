"""Every write to comments, with the post's `comments_count` and the parent's `replies_count`."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, F, IntegerField, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.common.counters import count_of, recount_in_batches
from apps.posts.hooks import comment_text_written
from apps.posts.models import Post
from apps.users.models import User

from . import signals
from .models import Comment


def _validate_text(text: str) -> None:
    if not text or not text.strip():
        raise ValidationError({"text": ["This field may not be blank."]})
    if len(text) > Comment.TEXT_MAX_LENGTH:
        raise ValidationError({"text": [f"Ensure this field has no more than {Comment.TEXT_MAX_LENGTH} characters."]})


def _lock_post(post_id: int) -> None:
    # FOR NO KEY UPDATE on the post serialises every comment write on that post (create, delete, recount) in
    # the same order, which rules out deadlocks between a reply being written and its parent being deleted.
    # It does not block likes, which only take a key-share lock through their foreign key.
    if not Post.objects.select_for_update(no_key=True).filter(pk=post_id).exists():
        raise Http404("Not found.")


def comment_can_edit(*, comment: Comment, actor: User) -> bool:
    return actor.is_authenticated and comment.author_id == actor.pk


def comment_can_delete(*, comment: Comment, post: Post, actor: User) -> bool:
    return actor.is_authenticated and (
        comment.author_id == actor.pk or post.author_id == actor.pk or actor.is_moderator
    )


@transaction.atomic
def comment_create(*, post: Post, author: User, text: str, parent_id: int | None = None) -> Comment:
    """Comment on `post`, or reply to comment `parent_id`, which must be a live comment of the same post (else a
    400 on `parent`). Visibility and the premium lock are the caller's to check (views use posts.selectors)."""
    _validate_text(text)
    _lock_post(post.pk)
    parent = None
    if parent_id is not None:
        # Checked under the post lock: a parent being deleted or removed right now is either seen gone or waits.
        parent = Comment.objects.filter(pk=parent_id, post_id=post.pk, removed_at__isnull=True).first()
        if parent is None:
            raise ValidationError({"parent": ["No such comment on this post."]})

    comment = Comment.objects.create(post=post, parent=parent, author=author, text=text)
    Post.objects.filter(pk=post.pk).update(comments_count=F("comments_count") + 1)
    if parent is not None:
        Comment.objects.filter(pk=parent.pk).update(replies_count=F("replies_count") + 1)
    comment_text_written.run(comment_id=comment.pk, author=author, text=text)  # mentions, in this transaction

    signals.comment_created.send(sender=Comment, comment_id=comment.pk)
    return comment


@transaction.atomic
def comment_update(*, comment: Comment, actor: User, text: str) -> Comment:
    if not comment_can_edit(comment=comment, actor=actor):
        raise PermissionDenied("Only the author may edit this comment.")
    _validate_text(text)
    comment.text = text
    comment.edited_at = timezone.now()
    comment.save(update_fields=["text", "edited_at", "updated_at"])
    comment_text_written.run(comment_id=comment.pk, author=actor, text=text)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, post: Post, actor: User) -> None:
    """Delete a comment and its replies (comment author, post author, moderator, admin).

    The post's `comments_count` is recounted under the post lock rather than decremented: a deleted thread
    takes its replies with it, and counting them one by one through the cascade is where drift would creep in.
    """
    if not comment_can_delete(comment=comment, post=post, actor=actor):
        raise PermissionDenied("You may not delete this comment.")
    _lock_post(post.pk)
    row = Comment.objects.filter(pk=comment.pk).values_list("parent_id", "removed_at").first()
    if row is None:
        return  # deleted concurrently
    parent_id, removed_at = row
    Comment.objects.filter(pk=comment.pk).delete()

    live = Comment.objects.filter(post_id=post.pk, removed_at__isnull=True).order_by().values("post_id")
    live_count = live.annotate(n=Count("*")).values("n")[:1]
    Post.objects.filter(pk=post.pk).update(
        comments_count=Coalesce(Subquery(live_count), 0, output_field=IntegerField())
    )
    if parent_id is not None and removed_at is None:
        Comment.objects.filter(pk=parent_id).update(replies_count=Greatest(F("replies_count") - 1, 0))


@transaction.atomic
def comment_remove(*, comment: Comment, actor: User) -> Comment:
    """Moderation: hide a comment from every path, keeping the row for the record; uncount it once."""
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators may remove comments.")
    _lock_post(comment.post_id)
    if Comment.objects.filter(pk=comment.pk, removed_at__isnull=True).update(removed_at=timezone.now()):
        Post.objects.filter(pk=comment.post_id).update(comments_count=Greatest(F("comments_count") - 1, 0))
        if comment.parent_id is not None:
            Comment.objects.filter(pk=comment.parent_id).update(replies_count=Greatest(F("replies_count") - 1, 0))
    comment.refresh_from_db(fields=["removed_at"])
    return comment


def comments_counters_recount(*, batch_size: int = 1000) -> dict[str, int]:
    """Repair `Post.comments_count` (comments and replies not removed) and `Comment.replies_count` (direct replies
    not removed) from the rows; returns rows repaired per model."""
    live = {"removed_at__isnull": True}
    return {
        "posts": recount_in_batches(Post, {"comments_count": count_of(Comment, "post", **live)}, batch_size=batch_size),
        "comments": recount_in_batches(
            Comment, {"replies_count": count_of(Comment, "parent", **live)}, batch_size=batch_size
        ),
    }
