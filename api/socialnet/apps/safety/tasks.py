"""Safety tasks (on `default`)."""

from apps.common.tasks import retrying_task

from . import selectors, services


@retrying_task(max_retries=1)
def safety_sets_rebuild_task(user_id: int) -> None:
    """Warm a user's cached block/mute sets after a read missed them (idempotent: stores only over nothing)."""
    selectors.safety_sets_rebuild(user_id=user_id)


@retrying_task(soft_time_limit=240, time_limit=300)
def safety_expired_purge_task() -> int:
    """Periodic: reclaim expired mutes and filters (idempotent by nature)."""
    return services.safety_expired_purge()
