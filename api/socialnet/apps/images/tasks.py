"""Media-queue tasks (routed by `apps.images.tasks.*` in settings). Thin: load by id, call a service."""

from __future__ import annotations

from celery import shared_task

from . import services
from .storage import storage_delete_many

RETRY_KW = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": 3}


def _backoff(retries: int) -> int:
    return min(10 * 2**retries, 300)


@shared_task(bind=True, soft_time_limit=60, time_limit=90, **RETRY_KW)
def image_process_task(self, image_id: int) -> None:
    try:
        services.image_process(image_id=image_id)
    except Exception as exc:
        # Only storage/database trouble gets here (undecodable images end `failed` inside the service).
        # After the last retry the image stays pending and the sweeper tries again later, within its bounded
        # number of attempts.
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, **RETRY_KW)
def image_files_delete_task(self, keys: list[str]) -> None:
    try:
        storage_delete_many(keys)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(acks_late=True)
def image_sweep_pending_task() -> int:
    return services.image_sweep_pending()


@shared_task(acks_late=True)
def image_delete_orphans_task() -> int:
    return services.image_delete_orphans()
