"""The one way to declare a task and the one way to enqueue one.

`retrying_task` is `shared_task` with the project's retry policy: any exception retries with exponential backoff
and jitter, a bounded number of times. Acknowledgement after the task ran and redelivery on a lost worker are
set globally (CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST), so every task must be idempotent;
time limits default to CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT and a task that needs longer says so.

`enqueue` writes the task into the transactional outbox (apps.common.outbox): call it inside the transaction of the
change it follows from, and the work happens if and only if the change commits, whatever the broker does.
"""

from celery import Task, shared_task

from . import outbox


class RetryingTask(Task):
    autoretry_for = (Exception,)
    retry_backoff = 5  # seconds: 5, 10, 20, 40, 80...
    retry_backoff_max = 300
    retry_jitter = True  # many tasks failing together (a database blip) must not retry in lockstep
    max_retries = 5

    def on_success(self, retval, task_id, args, kwargs):
        # Done: its outbox row must not be relayed again. (A failure keeps the row: the sweep relays it later.)
        event_id = outbox.outbox_event_id(self.request)
        if event_id is not None:
            outbox.outbox_event_done(event_id)


def retrying_task(*args, **options):
    """`@retrying_task` or `@retrying_task(max_retries=3, soft_time_limit=240, time_limit=300)`."""
    return shared_task(*args, base=RetryingTask, **options)


def enqueue(task, *args, durable: bool = True) -> None:
    """Run `task(*args)` on its queue once the current transaction commits (at once outside one), surviving a broker
    outage. Never waits on the broker. `durable=False`: best effort, for work a read path finds missing (see
    `outbox.outbox_write`)."""
    outbox.outbox_write(task, list(args), durable=durable)


@retrying_task
def outbox_sweep_task() -> int:
    """Periodic: publish the outbox rows the after-commit relay did not get handled."""
    return outbox.outbox_sweep()
