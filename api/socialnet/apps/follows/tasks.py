"""Follow graph tasks (on `default`: counter repair is housekeeping, not timeline work)."""

from apps.common.tasks import retrying_task

from . import services


@retrying_task(soft_time_limit=240, time_limit=300)
def follows_counters_recount_task() -> int:
    """Periodic repair of followers/following counters from the rows (idempotent by nature)."""
    return services.follows_counters_recount()
