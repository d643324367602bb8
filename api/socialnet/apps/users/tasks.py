import logging
from contextlib import contextmanager

from oauth2_provider.models import clear_expired

from apps.common.tasks import retrying_task

from . import lifecycle
from .emails import MAIL_SERVER_ERRORS

logger = logging.getLogger(__name__)


@retrying_task(soft_time_limit=300, time_limit=360)
def clear_expired_tokens_task() -> None:
    """Delete expired access/refresh tokens and grants (idempotent, batched by DOT)."""
    clear_expired()


@contextmanager
def _mail_server_outage_retried(task):
    """A mail server that is down or refusing makes the task retry later (the project's retry policy). Run eagerly
    (the embedded mode) there is no later: the error is logged and the email dropped, because a sign-up or a reset
    request must not fail on the mail server; the user can ask for the email again."""
    try:
        yield
    except MAIL_SERVER_ERRORS:
        if not task.request.is_eager:
            raise
        logger.exception("%s: mail server unavailable, email not sent", task.name)


# Each sends at most one email and re-reads the account first: a retry after a change (address verified, password
# changed) sends nothing stale.
@retrying_task(bind=True)
def email_verification_send_task(self, user_id: int) -> None:
    with _mail_server_outage_retried(self):
        lifecycle.email_verification_send(user_id=user_id)


@retrying_task(bind=True)
def email_change_notice_task(self, user_id: int, old_address: str, new_address: str) -> None:
    with _mail_server_outage_retried(self):
        lifecycle.email_change_notice_send(user_id=user_id, old_address=old_address, new_address=new_address)


@retrying_task(bind=True)
def password_changed_notice_task(self, user_id: int) -> None:
    with _mail_server_outage_retried(self):
        lifecycle.password_changed_notice_send(user_id=user_id)


@retrying_task(bind=True)
def password_reset_send_task(self, address: str) -> None:
    with _mail_server_outage_retried(self):
        lifecycle.password_reset_send(address=address)
