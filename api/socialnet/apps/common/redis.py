"""One shared raw Redis client for the features that need real Redis commands (view buffers, timelines).

Django's built-in RedisCache only speaks get/set; sorted sets, hashes and `SET NX EX` need a plain client.
In the embedded mode (no REDIS_URL) there is no Redis at all and `get_redis()` answers None: callers fall back
to an in-process equivalent (Django's local-memory cache) or to a database query.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings
from django.core.signals import setting_changed

_lock = threading.Lock()
_client: redis.Redis | None = None
_client_url: str | None = None


def get_redis() -> redis.Redis | None:
    """The process-wide client (a connection pool, thread-safe), or None in the embedded mode.

    Short socket timeouts (settings.REDIS_SOCKET_TIMEOUT): a dead Redis must make callers fall back quickly,
    never hang a request. Callers catch `redis.RedisError` and degrade.
    """
    global _client, _client_url
    url = settings.REDIS_URL
    if not url:
        return None
    client = _client
    if client is not None and _client_url == url:
        return client
    with _lock:
        if _client is None or _client_url != url:
            timeout = settings.REDIS_SOCKET_TIMEOUT
            _client = redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                health_check_interval=30,
            )
            _client_url = url
        return _client


def reset_redis_client() -> None:
    """Drop the cached client (tests that change REDIS_URL, or after a fork)."""
    global _client, _client_url
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
        _client_url = None


def _on_setting_changed(*, setting, **kwargs):
    if setting in ("REDIS_URL", "REDIS_SOCKET_TIMEOUT"):
        reset_redis_client()


setting_changed.connect(_on_setting_changed)
