from apps.common.tasks import retrying_task

from . import services


@retrying_task(soft_time_limit=240, time_limit=300)
def comments_counters_recount_task() -> dict[str, int]:
    """Periodic repair of `comments_count` and `replies_count` from the rows (idempotent by nature)."""
    return services.comments_counters_recount()
