from apps.common.tasks import retrying_task

from . import services


@retrying_task
def trending_tags_refresh_task() -> None:
    services.trending_tags_refresh()


@retrying_task(soft_time_limit=240, time_limit=300)
def tags_counters_recount_task() -> int:
    """Periodic repair of the users' followed-tag counters from the rows (idempotent by nature)."""
    return services.tags_counters_recount()
