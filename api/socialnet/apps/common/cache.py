"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django's client builds a new `redis.Redis` for every cache call (`get_client`); redis-py's constructor sets up its
response callbacks each time, which made one `cache.get` cost several times the round trip it wraps (0.37 ms of
CPU against 0.08 ms for the same GET on a kept client). A client is thread-safe (connections come from its pool),
so one per pool is enough. Configured as the `default` cache's BACKEND in settings.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _KeptClients(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _KeptClients
