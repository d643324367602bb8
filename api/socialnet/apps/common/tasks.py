"""The one way to declare a task and the one way to enqueue one.

`retrying_task` is `shared_task` with the project's retry policy: any exception retries with exponential backoff
and jitter, a bounded number of times. Acknowledgement after the task ran and redelivery on a lost worker are
set globally (CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST), so every task must be idempotent;
time limits default to CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT and a task that needs longer says so.

`enqueue` is what receivers call after commit: the data is already saved when the broker is asked, so if the
broker is down (or hung: one attempt, short timeouts) the client must still get the success it is owed, quickly; the
work is logged as lost and the sweepers (pending images, fan-outs, notifications, timeline rebuilds on read) pick it
up later.
"""

import logging

from celery import Task, shared_task
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BROKER_ERRORS = (OperationalError, RedisError, ConnectionError, TimeoutError)


class RetryingTask(Task):
    autoretry_for = (Exception,)
    retry_backoff = 5  # seconds: 5, 10, 20, 40, 80...
    retry_backoff_max = 300
    retry_jitter = True  # many tasks failing together (a database blip) must not retry in lockstep
    max_retries = 5


def retrying_task(*args, **options):
    """`@retrying_task` or `@retrying_task(max_retries=3, soft_time_limit=240, time_limit=300)`."""
    return shared_task(*args, base=RetryingTask, **options)


def enqueue(task, *args) -> bool:
    """`task.delay(*args)`, one attempt; False (logged) when the broker cannot be reached. Task errors in eager mode
    propagate.

    One attempt bounded by the broker's socket timeouts (CELERY_BROKER_TRANSPORT_OPTIONS): this runs in request
    threads, and Celery's default publish retries against a hung Redis held every write for 5-26 s. What is not
    enqueued is caught up by the sweepers."""
    try:
        task.apply_async(args, retry=False)
    except BROKER_ERRORS:
        logger.exception("broker unavailable: %s%r not enqueued", task.name, args)
        return False
    return True
