"""Dependency checks for GET /health/: each answers "ok" or "down" quickly and never raises."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from .outbox import outbox_waiting
from .redis import redis_client

logger = logging.getLogger(__name__)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:  # any driver error means the same thing to a load balancer
        logger.exception("health: database check failed")
        return "down"


def cache_status() -> str:
    probe = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(probe, "1", timeout=5)
        ok = cache.get(probe) == "1"
        cache.delete(probe)
        return "ok" if ok else "down"
    except Exception:
        logger.warning("health: cache check failed", exc_info=True)
        return "down"


def broker_status() -> str:
    if settings.EMBEDDED:
        return "ok"  # embedded mode runs tasks in-process: there is no broker to lose
    try:
        return "ok" if redis_client("CELERY_BROKER_URL").ping() else "down"
    except Exception:
        logger.warning("health: broker check failed", exc_info=True)
        return "down"


def outbox_status() -> dict[str, int] | None:
    """Outbox rows not handled yet: `waiting` (normal: a few per second of writes), `overdue` (swept and still
    there: the broker or the workers are behind), `dead` (given up on: read them in the admin)."""
    try:
        return outbox_waiting()
    except Exception:
        logger.exception("health: outbox count failed")
        return None
