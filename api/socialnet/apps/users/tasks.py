from oauth2_provider.models import clear_expired

from apps.common.tasks import retrying_task


@retrying_task(soft_time_limit=300, time_limit=360)
def clear_expired_tokens_task() -> None:
    """Delete expired access/refresh tokens and grants (idempotent, batched by DOT)."""
    clear_expired()
