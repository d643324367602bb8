from apps.common.tasks import retrying_task

from . import services


@retrying_task(soft_time_limit=240, time_limit=300)
def posts_counters_recount_task() -> int:
    """Periodic repair of the authors' `posts_count` from the rows (idempotent by nature)."""
    return services.posts_counters_recount()
