import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=3,
    soft_time_limit=240,
    time_limit=300,
)
def recount_counters_task() -> dict[str, int]:
    """Periodic repair of likes/comments/replies/posts counters from the rows (idempotent by nature)."""
    repaired = services.counters_recount()
    if any(repaired.values()):
        logger.warning("counters repaired: %s", repaired)
    return repaired
