"""The follow graph reacts to accounts: each receiver only enqueues a task (apps.follows.tasks)."""

from django.dispatch import receiver

from apps.common.tasks import enqueue
from apps.users.signals import account_made_public

from .tasks import follow_requests_accept_all_task


@receiver(account_made_public, dispatch_uid="follows.accept_pending")
def accept_pending_requests(sender, *, user_id: int, **kwargs) -> None:
    enqueue(follow_requests_accept_all_task, user_id)
