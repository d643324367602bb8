from celery import shared_task

from . import services


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    soft_time_limit=50,
    time_limit=60,
)
def flush_view_buffer_task() -> int:
    """Periodic (beat, ~10 s): buffered views into `views_count`. Idempotent: a batch is applied once."""
    return services.view_buffer_flush()
