"""Follow graph tasks (on `default`: counter repair is housekeeping, not timeline work)."""

from apps.common.tasks import retrying_task

from . import services


@retrying_task(soft_time_limit=240, time_limit=300)
def follows_counters_recount_task() -> int:
    """Periodic repair of followers/following counters from the rows (idempotent by nature)."""
    return services.follows_counters_recount()


@retrying_task
def follow_requests_accept_all_task(user_id: int) -> int:
    """An account went public: its pending follow requests become follows (idempotent)."""
    return services.follow_requests_accept_all(user_id=user_id)
