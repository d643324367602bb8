"""Creating and reading-marking notifications. Creation runs in tasks (off the request path) and is idempotent:
the unique constraint absorbs a task that runs twice."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q

from apps.comments.models import Comment
from apps.follows.models import Follow, FollowRequest
from apps.interactions.models import Like
from apps.posts.models import Post
from apps.posts.selectors import post_visible_queryset
from apps.safety.models import Block
from apps.tags.models import Mention
from apps.users.models import User

from .models import Notification

logger = logging.getLogger(__name__)


def _notify(*, recipient_id: int, actor_id: int, type: str, post_id: int | None = None, comment_id: int | None = None):
    if recipient_id == actor_id:
        return  # nothing for acting on your own things
    try:
        # Its own transaction: the foreign keys are checked at its commit (they are deferred), so a target deleted
        # since it was read (a comment deleted while this task ran) fails here, as a no-op, not later.
        with transaction.atomic():
            Notification.objects.bulk_create(
                [
                    Notification(
                        recipient_id=recipient_id, actor_id=actor_id, type=type, post_id=post_id, comment_id=comment_id
                    )
                ],
                ignore_conflicts=True,  # the unique constraints absorb a task that runs twice
            )
    except IntegrityError:
        # ignore_conflicts leaves only foreign keys to fail: the post, comment or a user is gone, and with it what
        # there was to notify. Retrying would fail the same way.
        logger.info("notification %s from %s to %s: its target was deleted meanwhile", type, actor_id, recipient_id)


def _can_see_post(*, user_id: int, post_id: int) -> bool:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return user is not None and post_visible_queryset(viewer=user).filter(pk=post_id).exists()


def notification_follow(*, follower_id: int, followee_id: int) -> None:
    """`follower` followed `followee`. Skipped when the follow was already undone or the actor is gone."""
    if not Follow.objects.filter(
        follower_id=follower_id, followee_id=followee_id, follower__is_active=True, followee__is_active=True
    ).exists():
        return
    _notify(recipient_id=followee_id, actor_id=follower_id, type=Notification.Type.FOLLOW)


def notification_follow_request(*, requester_id: int, target_id: int) -> None:
    """`requester` asked to follow the private account `target`. Skipped when the request is already gone."""
    if not FollowRequest.objects.filter(
        requester_id=requester_id, target_id=target_id, requester__is_active=True, target__is_active=True
    ).exists():
        return
    _notify(recipient_id=target_id, actor_id=requester_id, type=Notification.Type.FOLLOW_REQUEST)


def notification_like(*, like_id: int) -> None:
    """A like on your post (unless you liked your own, or the like is already undone)."""
    like = Like.objects.filter(pk=like_id, user__is_active=True).select_related("post").first()
    if like is None or like.post.removed_at is not None:
        return
    if not _can_see_post(user_id=like.post.author_id, post_id=like.post_id):
        return
    _notify(recipient_id=like.post.author_id, actor_id=like.user_id, type=Notification.Type.LIKE, post_id=like.post_id)


def notification_comment(*, comment_id: int) -> None:
    """A reply notifies the parent comment's author; a comment notifies the post's author (once: a reply to the
    post author's own comment is a reply, not also a comment)."""
    comment = (
        Comment.objects.filter(pk=comment_id, author__is_active=True, removed_at__isnull=True)
        .select_related("post", "parent")
        .first()
    )
    if comment is None or comment.post.removed_at is not None:
        return
    post = comment.post
    replied_to = None
    if comment.parent is not None and comment.parent.removed_at is None:
        replied_to = comment.parent.author_id
        # The parent's author may have lost sight of the post since (unfollowed a followers-only author).
        if replied_to != comment.author_id and _can_see_post(user_id=replied_to, post_id=post.pk):
            _notify(
                recipient_id=replied_to,
                actor_id=comment.author_id,
                type=Notification.Type.REPLY,
                post_id=post.pk,
                comment_id=comment.pk,
            )
    if post.author_id != replied_to and _can_see_post(user_id=post.author_id, post_id=post.pk):
        _notify(
            recipient_id=post.author_id,
            actor_id=comment.author_id,
            type=Notification.Type.COMMENT,
            post_id=post.pk,
            comment_id=comment.pk,
        )


def notification_mention(*, post_id: int | None, comment_id: int | None, user_ids: list[int]) -> None:
    """Users named in a post's or comment's text: each notified once, if they can see the post and no block stands
    between them and the writer (checked now: things may have changed since the text was written). A name edited
    away before this runs notifies nobody."""
    if comment_id is not None:
        comment = Comment.objects.filter(pk=comment_id, removed_at__isnull=True, author__is_active=True).first()
        if comment is None:
            return
        actor_id, post_id, owner = comment.author_id, comment.post_id, {"comment_id": comment_id}
    else:
        post = Post.objects.filter(pk=post_id, removed_at__isnull=True, author__is_active=True).first()
        if post is None:
            return
        actor_id, owner = post.author_id, {"post_id": post_id}
    still_named = set(Mention.objects.filter(user_id__in=user_ids, **owner).values_list("user_id", flat=True))
    for user_id in user_ids:
        if user_id not in still_named or user_id == actor_id:
            continue
        if Block.objects.filter(
            Q(blocker_id=user_id, blocked_id=actor_id) | Q(blocker_id=actor_id, blocked_id=user_id)
        ).exists():
            continue
        if not _can_see_post(user_id=user_id, post_id=post_id):
            continue
        _notify(
            recipient_id=user_id,
            actor_id=actor_id,
            type=Notification.Type.MENTION,
            post_id=post_id,
            comment_id=comment_id,
        )


def notification_mark_read(*, user: User, up_to_id: int | None = None) -> int:
    """Mark the user's unread notifications read (all, or those with id ≤ up_to_id); returns how many."""
    qs = Notification.objects.filter(recipient=user, read=False)
    if up_to_id is not None:
        qs = qs.filter(id__lte=up_to_id)
    return qs.update(read=True)


def notifications_delete_for_user(*, user_id: int) -> int:
    """Every notification to or from the user (account erasure); returns how many were deleted."""
    deleted, _ = Notification.objects.filter(Q(recipient_id=user_id) | Q(actor_id=user_id)).delete()
    return deleted
