"""Every write to posts. Counters move in the same transaction as the row that justifies them."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.common.counters import count_of, recount_in_batches
from apps.images.services import images_attach_to_post, images_delete_for_post
from apps.users.models import User

from . import hooks, signals
from .models import Post
from .selectors import post_has_images


def _validate_text(text: str) -> None:
    if len(text) > Post.TEXT_MAX_LENGTH:
        raise ValidationError({"text": [f"Ensure this field has no more than {Post.TEXT_MAX_LENGTH} characters."]})


def post_can_edit(*, post: Post, actor: User) -> bool:
    return actor.is_authenticated and post.author_id == actor.pk


def post_can_delete(*, post: Post, actor: User) -> bool:
    return actor.is_authenticated and (post.author_id == actor.pk or actor.is_moderator)


@transaction.atomic
def post_create(
    *,
    author: User,
    text: str,
    visibility: str = Post.Visibility.PUBLIC,
    image_ids: Sequence[int] = (),
) -> Post:
    """Create a post and count it on the author's profile.

    `image_ids` (at most 10, the author's own, not failed, not attached elsewhere) are attached in this
    transaction with their rows locked; any bad id rolls the whole post back with a 400.
    """
    if visibility not in Post.Visibility.values:
        raise ValidationError({"visibility": [f'"{visibility}" is not a valid choice.']})
    _validate_text(text)
    if not text and not image_ids:
        raise ValidationError({"text": ["A post needs text or at least one image."]})

    post = Post.objects.create(author=author, text=text, visibility=visibility)
    images_attach_to_post(post=post, image_ids=image_ids)
    hooks.post_text_written.run(post=post)  # tags and mentions, in this transaction: the 201 carries them
    User.objects.filter(pk=author.pk).update(posts_count=F("posts_count") + 1)

    signals.post_created.send(sender=Post, post_id=post.pk, author_id=author.pk)
    return post


@transaction.atomic
def post_update(*, post: Post, actor: User, text: str | None = None, visibility: str | None = None) -> Post:
    """Author-only edit of text and/or visibility; stamps `edited_at`."""
    if not post_can_edit(post=post, actor=actor):
        raise PermissionDenied("Only the author may edit this post.")
    fields = ["edited_at", "updated_at"]
    if text is not None:
        _validate_text(text)
        if not text and not post_has_images(post=post):
            raise ValidationError({"text": ["A post without images needs text."]})
        post.text = text
        fields.append("text")
    if visibility is not None:
        if visibility not in Post.Visibility.values:
            raise ValidationError({"visibility": [f'"{visibility}" is not a valid choice.']})
        post.visibility = visibility
        fields.append("visibility")
    post.edited_at = timezone.now()
    # No event: timelines hold ids only and every read goes through the visibility rule, so a visibility change
    # takes effect on the next read everywhere.
    post.save(update_fields=fields)
    if text is not None:
        hooks.post_text_written.run(post=post)
    return post


@transaction.atomic
def post_delete(*, post: Post, actor: User) -> None:
    """Delete a post with its likes and comments (author, moderator or admin) and uncount it."""
    if not post_can_delete(post=post, actor=actor):
        raise PermissionDenied("You may not delete this post.")
    # Lock first: a like or comment racing with the delete then waits and finds the post gone, instead of
    # inserting a row that points at a post deleted under it.
    locked = Post.objects.select_for_update().filter(pk=post.pk).values_list("pk", "author_id", "removed_at").first()
    if locked is None:
        return  # deleted concurrently: nothing left to do, nothing to uncount twice
    post_id, author_id, removed_at = locked
    images_delete_for_post(post_id=post_id)  # rows now, files after commit
    Post.objects.filter(pk=post_id).delete()
    if removed_at is None:  # a post removed by moderation was already uncounted
        User.objects.filter(pk=author_id).update(posts_count=Greatest(F("posts_count") - 1, 0))
    signals.post_deleted.send(sender=Post, post_id=post_id, author_id=author_id)


@transaction.atomic
def post_remove(*, post: Post, actor: User) -> Post:
    """Moderation: hide a post from every path but keep the row for the record (reports point at it)."""
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators may remove posts.")
    updated = Post.objects.filter(pk=post.pk, removed_at__isnull=True).update(removed_at=timezone.now())
    if updated:  # only the first removal uncounts, however many moderators click at once
        User.objects.filter(pk=post.author_id).update(posts_count=Greatest(F("posts_count") - 1, 0))
        signals.post_removed.send(sender=Post, post_id=post.pk, author_id=post.author_id)
    post.refresh_from_db(fields=["removed_at"])
    return post


def posts_counters_recount(*, batch_size: int = 1000) -> int:
    """Repair `User.posts_count` (posts not removed by moderation) from the rows; returns users repaired."""
    return recount_in_batches(
        User, {"posts_count": count_of(Post, "author", removed_at__isnull=True)}, batch_size=batch_size
    )
