"""Follow events, on the `follows` queue (routed by module in CELERY_TASK_ROUTES)."""

from celery import shared_task

_RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 5}


@shared_task(acks_late=True, **_RETRY)
def follow_notify_task(follower_id: int, followee_id: int) -> None:
    from apps.notifications.services import notification_follow

    notification_follow(follower_id=follower_id, followee_id=followee_id)
