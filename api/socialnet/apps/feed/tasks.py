"""Timeline tasks. `fanout_*` and `timeline_*` run on the `follows` queue (CELERY_TASK_ROUTES), the rest on
`default`. Each loads ids, calls a service, and may run twice harmlessly."""

from apps.common.replicas import replica_reads
from apps.common.tasks import enqueue, retrying_task

from . import selectors, services


@retrying_task
def fanout_post_task(post_id: int) -> None:
    batches = services.fanout_post(post_id=post_id)
    if not batches:
        return
    # The first batch here (most authors have fewer than a batch of followers: one task, one round trip); the rest
    # in parallel on whatever `follows` workers are free.
    for batch in batches[1:]:
        enqueue(fanout_post_batch_task, post_id, batch)
    services.fanout_post_batch(post_id=post_id, user_ids=batches[0])


@retrying_task
def fanout_sweep_task() -> int:
    """Periodic: restart the fan-out of recent posts whose fan-out never finished (it is idempotent anyway)."""
    missed = selectors.fanout_missed_post_ids()
    for post_id in missed:
        enqueue(fanout_post_task, post_id)
    return len(missed)


@retrying_task
def fanout_post_batch_task(post_id: int, user_ids: list[int]) -> None:
    services.fanout_post_batch(post_id=post_id, user_ids=user_ids)


@retrying_task
def fanout_remove_post_task(post_id: int, author_id: int) -> None:
    batches = selectors.fanout_remove_batches(author_id=author_id)
    for batch in batches[1:]:
        enqueue(fanout_remove_batch_task, post_id, batch)
    if batches:
        services.fanout_remove_batch(post_id=post_id, user_ids=batches[0])


@retrying_task
def fanout_remove_batch_task(post_id: int, user_ids: list[int]) -> None:
    services.fanout_remove_batch(post_id=post_id, user_ids=user_ids)


@retrying_task
def timeline_backfill_task(user_id: int, author_id: int) -> None:
    services.timeline_backfill(user_id=user_id, author_id=author_id)


@retrying_task
def timeline_unmerge_task(user_id: int, author_id: int) -> None:
    services.timeline_unmerge(user_id=user_id, author_id=author_id)


@retrying_task
@replica_reads()  # a pure reader (a ranking cached in Redis), and the heaviest periodic scan: off the primary
def trending_refresh_task() -> None:
    services.trending_refresh()
