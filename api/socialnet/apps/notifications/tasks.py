"""Notifications are made here, on the `default` queue, never in the request that caused them."""

from celery import shared_task

from . import services

_RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 5}


@shared_task(acks_late=True, **_RETRY)
def notification_like_task(like_id: int) -> None:
    services.notification_like(like_id=like_id)


@shared_task(acks_late=True, **_RETRY)
def notification_comment_task(comment_id: int) -> None:
    services.notification_comment(comment_id=comment_id)
