from apps.common.tasks import retrying_task

from . import services


@retrying_task(soft_time_limit=50, time_limit=60)
def flush_view_buffer_task() -> int:
    """Periodic (beat, ~10 s): buffered views into `views_count`. Idempotent: a batch is applied once."""
    return services.view_buffer_flush()


@retrying_task(soft_time_limit=240, time_limit=300)
def likes_counters_recount_task() -> int:
    """Periodic repair of `likes_count` from the like rows (idempotent by nature)."""
    return services.likes_counters_recount()
