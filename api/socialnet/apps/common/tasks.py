"""Enqueueing that never turns a committed write into a 500.

Hooks enqueue after commit: the data is already saved when the broker is asked. If the broker is down, the
client must still get the success it is owed; the work is logged as lost and the sweepers (pending images,
fan-outs, timeline rebuilds on read) pick it up later.
"""

import logging

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BROKER_ERRORS = (OperationalError, RedisError, ConnectionError, TimeoutError)


def enqueue(task, *args) -> bool:
    """`task.delay(*args)`; False (logged) when the broker cannot be reached. Task errors in eager mode propagate."""
    try:
        task.delay(*args)
    except BROKER_ERRORS:
        logger.exception("broker unavailable: %s%r not enqueued", task.name, args)
        return False
    return True
