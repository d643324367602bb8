from celery import shared_task
from oauth2_provider.models import clear_expired


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def clear_expired_tokens_task() -> None:
    """Delete expired access/refresh tokens and grants (idempotent, batched by DOT)."""
    clear_expired()
