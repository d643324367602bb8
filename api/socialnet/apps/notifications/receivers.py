"""Notifications react to follows, likes and comments: each receiver only enqueues the task that writes them."""

from django.dispatch import receiver

from apps.comments.signals import comment_created
from apps.common.tasks import enqueue
from apps.follows.signals import follow_requested, followed
from apps.interactions.signals import post_liked
from apps.tags.signals import users_mentioned

from .tasks import (
    notification_comment_task,
    notification_follow_request_task,
    notification_follow_task,
    notification_like_task,
    notification_mention_task,
)


@receiver(followed, dispatch_uid="notifications.follow")
def notify_followee(sender, *, follower_id: int, followee_id: int, created: bool, **kwargs) -> None:
    if created:  # a repeated follow request must not notify twice
        enqueue(notification_follow_task, follower_id, followee_id)


@receiver(post_liked, dispatch_uid="notifications.like")
def notify_post_author_of_like(sender, *, like_id: int, **kwargs) -> None:
    enqueue(notification_like_task, like_id)


@receiver(comment_created, dispatch_uid="notifications.comment")
def notify_of_comment(sender, *, comment_id: int, **kwargs) -> None:
    enqueue(notification_comment_task, comment_id)


@receiver(follow_requested, dispatch_uid="notifications.follow_request")
def notify_follow_request(sender, *, requester_id: int, target_id: int, **kwargs) -> None:
    enqueue(notification_follow_request_task, requester_id, target_id)


@receiver(users_mentioned, dispatch_uid="notifications.mention")
def notify_mentioned(sender, *, post_id: int | None, comment_id: int | None, user_ids: list[int], **kwargs) -> None:
    enqueue(notification_mention_task, post_id, comment_id, list(user_ids))
