"""A small TTL cache for introspection results: Redis shared by every gateway process, memory as the fallback.

Redis is an optimisation here, never a dependency: without REDIS_URL (embedded mode) or while Redis is down,
each process keeps its own bounded in-memory copy, so the gateway keeps answering, only with more introspection
calls to Django.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict

import redis

logger = logging.getLogger(__name__)


class MemoryTTLCache:
    """Thread-safe, bounded (least recently written entries go first), entries expire on read."""

    def __init__(self, max_entries: int = 10_000):
        self._data: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, key: str) -> dict | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires_at, value = item
            if expires_at <= time.monotonic():
                del self._data[key]
                return None
            return value

    def set(self, key: str, value: dict, ttl: float) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max_entries:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class TTLCache:
    """Redis when configured and reachable, else memory. After a Redis error, Redis is skipped for a few seconds
    so that a dead Redis costs one timeout per back-off period, not one per request.

    With Redis up, process memory still keeps each answer for at most `local_seconds` in front of it: a busy
    token then costs no Redis round trip at all, and a revocation seen by another gateway process reaches this
    one at most that much later (always within the overall TTL)."""

    RETRY_AFTER_SECONDS = 5.0

    def __init__(
        self, *, redis_url: str = "", prefix: str = "gw:introspect:", timeout: float = 0.25, local_seconds: int = 0
    ):
        self.memory = MemoryTTLCache()
        self.local_seconds = local_seconds
        self.prefix = prefix
        self._redis = (
            redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
            if redis_url
            else None
        )
        self._down_until = 0.0

    @property
    def backend(self) -> str:
        if self._redis is None:
            return "memory"
        return "memory (redis down)" if self._redis_skipped() else "redis"

    def _redis_skipped(self) -> bool:
        return time.monotonic() < self._down_until

    def _redis_failed(self, exc: Exception) -> None:
        if not self._redis_skipped():
            logger.warning("Redis unavailable for the introspection cache, using process memory: %s", exc)
        self._down_until = time.monotonic() + self.RETRY_AFTER_SECONDS

    def ping(self) -> bool | None:
        """True/False for Redis reachability; None when no Redis is configured."""
        if self._redis is None:
            return None
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def get(self, key: str) -> dict | None:
        local = self.memory.get(key)
        if local is not None:
            return local
        if self._redis is not None and not self._redis_skipped():
            try:
                # One round trip for the value and its remaining life (the local copy must not outlive it).
                pipe = self._redis.pipeline(transaction=False)
                raw, ttl_ms = pipe.get(self.prefix + key).pttl(self.prefix + key).execute()
            except redis.RedisError as exc:
                self._redis_failed(exc)
            else:
                if not raw:
                    return None
                value = json.loads(raw)
                if self.local_seconds and ttl_ms > 0:
                    self.memory.set(key, value, min(self.local_seconds, ttl_ms / 1000))
                return value
        return None

    def set(self, key: str, value: dict, ttl: float) -> None:
        if ttl <= 0:
            return
        if self._redis is not None and not self._redis_skipped():
            try:
                self._redis.set(self.prefix + key, json.dumps(value), ex=ttl)
            except redis.RedisError as exc:
                self._redis_failed(exc)
            else:
                if self.local_seconds:
                    self.memory.set(key, value, min(ttl, self.local_seconds))
                return
        self.memory.set(key, value, ttl)

    def delete(self, key: str) -> None:
        self.memory.delete(key)
        if self._redis is not None:
            try:
                self._redis.delete(self.prefix + key)
            except redis.RedisError as exc:
                self._redis_failed(exc)
