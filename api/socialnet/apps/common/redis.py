"""The one factory of raw Redis clients: view buffers, timelines and the broker health check all get theirs here.

Django's built-in RedisCache only speaks get/set; sorted sets, hashes and `SET NX EX` need a plain client.
In the embedded mode (no REDIS_URL) there is no Redis at all and `redis_client()` answers None: callers fall back
to an in-process equivalent (Django's local-memory cache) or to a database query.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings
from django.core.signals import setting_changed

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
# The settings callers named so far: changing one of them (tests, mostly) must not leave stale clients behind.
_url_settings: set[str] = set()


def redis_client(url_setting: str = "REDIS_URL") -> redis.Redis | None:
    """The process-wide client (a thread-safe connection pool) for the URL in `settings.<url_setting>`, or None
    when that setting is empty. One client per URL: settings naming the same server share its pool.

    Short socket timeouts (settings.REDIS_SOCKET_TIMEOUT): a dead Redis must make callers fall back quickly,
    never hang a request. Callers catch `redis.RedisError` and degrade.
    """
    _url_settings.add(url_setting)
    url = getattr(settings, url_setting)
    if not url:
        return None
    client = _clients.get(url)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(url)
        if client is None:
            timeout = settings.REDIS_SOCKET_TIMEOUT
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                health_check_interval=30,
            )
            _clients[url] = client
        return client


def _on_setting_changed(*, setting, **kwargs):
    # Clients carry their URL and timeouts: a test that changes either must get a fresh one.
    if setting == "REDIS_SOCKET_TIMEOUT" or setting in _url_settings:
        with _lock:
            for client in _clients.values():
                client.close()
            _clients.clear()


setting_changed.connect(_on_setting_changed)
