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
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

_lock = threading.Lock()
# Lua scripts by source: each SHA1 is worked out once per process (run_script).
_scripts: dict[str, Script] = {}
_clients: dict[tuple[str, bool], redis.Redis | redis.RedisCluster] = {}
# The settings callers named so far: changing one of them (tests, mostly) must not leave stale clients behind.
_url_settings: set[str] = set()


def redis_client(url_setting: str = "REDIS_URL", *, cluster: bool = False) -> redis.Redis | redis.RedisCluster | None:
    """The process-wide client (a thread-safe connection pool) for the URL in `settings.<url_setting>`, or None
    when that setting is empty. One client per URL: settings naming the same server share its pool.

    `cluster=True`: the URL names one node of a Redis Cluster and the client (redis-py's RedisCluster) finds the
    others and routes each key to the node owning its slot.

    Short socket timeouts (settings.REDIS_SOCKET_TIMEOUT): a dead Redis must make callers fall back quickly,
    never hang a request. Callers catch `redis.RedisError` and degrade.
    """
    _url_settings.add(url_setting)
    url = getattr(settings, url_setting)
    if not url:
        return None
    client = _clients.get((url, cluster))
    if client is not None:
        return client
    with _lock:
        client = _clients.get((url, cluster))
        if client is None:
            client = _cluster_client(url) if cluster else _single_client(url)
            _clients[(url, cluster)] = client
        return client


def _options() -> dict:
    timeout = settings.REDIS_SOCKET_TIMEOUT
    return {"socket_connect_timeout": timeout, "socket_timeout": timeout, "health_check_interval": 30}


def _single_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **_options())


def _cluster_client(url: str) -> redis.RedisCluster:
    try:
        # One retry after a topology refresh (a failover promoted a replica), without redis-py's default backoff of
        # up to seconds: a request whose node is down must fall back now, not after a series of sleeps.
        return redis.RedisCluster.from_url(url, retry=Retry(NoBackoff(), 1), **_options())
    except redis.exceptions.RedisClusterException as error:
        # The client asks the cluster for its slots as it is built; no node answering is an outage like any other,
        # and callers degrade on RedisError (RedisClusterException is not one). Nothing is cached: the next call
        # tries again.
        raise redis.ConnectionError(str(error)) from error


def _on_setting_changed(*, setting, **kwargs):
    # Clients carry their URL and timeouts: a test that changes either must get a fresh one.
    if setting == "REDIS_SOCKET_TIMEOUT" or setting in _url_settings:
        with _lock:
            for client in _clients.values():
                client.close()
            _clients.clear()


setting_changed.connect(_on_setting_changed)


def run_script(client: redis.Redis | redis.RedisCluster, source: str, *, keys: list, args: list):
    """Runs the Lua `source` on `client` by EVALSHA (loading it into a Redis that lacks it) and returns its reply.
    The script object is kept per source and run with the client given each time, since a changed URL setting
    (tests, mostly) replaces the client while the script's hash stays valid."""
    script = _scripts.get(source)
    if script is None:
        script = _scripts.setdefault(source, client.register_script(source))
    return script(keys=keys, args=args, client=client)
