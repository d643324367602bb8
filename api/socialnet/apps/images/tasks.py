"""Media-queue tasks (routed by `apps.images.tasks.*` in settings). Thin: load by id, call a service."""

from __future__ import annotations

from apps.common.tasks import retrying_task

from . import services
from .storage import storage_delete_many


# Only storage/database trouble raises here (undecodable images end `failed` inside the service). After the last
# retry the image stays pending and its outbox row is relayed again later, within the image's bounded attempts.
@retrying_task(max_retries=3, soft_time_limit=60, time_limit=90)
def image_process_task(image_id: int) -> None:
    services.image_process(image_id=image_id)


@retrying_task(max_retries=3)
def image_files_delete_task(keys: list[str]) -> None:
    storage_delete_many(keys)


@retrying_task
def image_delete_orphans_task() -> int:
    return services.image_delete_orphans()
