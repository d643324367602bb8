"""A Redis storage for `limits` that answers a request's rate-limit headers from its own increment.

With stock storage a limited request costs three Redis round trips: the increment, then GET and TTL to write
X-RateLimit-Remaining/-Reset. Here one Lua call increments and returns the count and the TTL together, and the
header lookups of the same request are answered from that (kept in flask.g, so nothing outlives the request).
"""

from __future__ import annotations

import time

from flask import g, has_app_context
from limits.storage import RedisStorage

SCHEME_PREFIX = "gateway+"

# INCRBY, set the window's expiry on the first hit, return the count and the remaining TTL in one round trip.
INCR_EXPIRE_TTL = """
local current = redis.call('incrby', KEYS[1], ARGV[2])
if current == tonumber(ARGV[2]) then
    redis.call('expire', KEYS[1], ARGV[1])
end
return {current, redis.call('ttl', KEYS[1])}
"""


def _memo() -> dict | None:
    if not has_app_context():
        return None
    if "_limit_memo" not in g:
        g._limit_memo = {}
    return g._limit_memo


class RequestMemoRedisStorage(RedisStorage):
    """Selected with `gateway+redis://...` (or `gateway+rediss://`) as the limiter's storage URI."""

    STORAGE_SCHEME = [f"{SCHEME_PREFIX}redis", f"{SCHEME_PREFIX}rediss"]

    def __init__(self, uri: str, **options):
        super().__init__(uri.removeprefix(SCHEME_PREFIX), **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_incr_expire_ttl = self.get_connection().register_script(INCR_EXPIRE_TTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        key = self.prefixed_key(key)
        current, ttl = self.lua_incr_expire_ttl([key], [expiry, amount])
        memo = _memo()
        if memo is not None:
            memo[key] = (int(current), max(int(ttl), 0) + time.time())
        return int(current)

    def get(self, key: str) -> int:
        memo = _memo()
        known = memo.get(self.prefixed_key(key)) if memo else None
        return known[0] if known else super().get(key)

    def get_expiry(self, key: str) -> float:
        memo = _memo()
        known = memo.get(self.prefixed_key(key)) if memo else None
        return known[1] if known else super().get_expiry(key)
