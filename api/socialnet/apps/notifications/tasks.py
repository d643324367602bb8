"""Notifications are made here, on the `default` queue, never in the request that caused them."""

from apps.common.tasks import retrying_task

from . import services


@retrying_task
def notification_follow_task(follower_id: int, followee_id: int) -> None:
    services.notification_follow(follower_id=follower_id, followee_id=followee_id)


@retrying_task
def notification_like_task(like_id: int) -> None:
    services.notification_like(like_id=like_id)


@retrying_task
def notification_comment_task(comment_id: int) -> None:
    services.notification_comment(comment_id=comment_id)


@retrying_task
def notification_follow_request_task(requester_id: int, target_id: int) -> None:
    services.notification_follow_request(requester_id=requester_id, target_id=target_id)


@retrying_task
def notification_mention_task(post_id: int | None, comment_id: int | None, user_ids: list[int]) -> None:
    services.notification_mention(post_id=post_id, comment_id=comment_id, user_ids=user_ids)
