"""DRF throttles: counted in Redis with one round trip each, and failing open.

DRF's own throttles keep a list of timestamps per client in the cache: a GET and a SET per throttle and request,
the whole list pickled both ways (600 entries for a busy user), and an anonymous request went through two of
them. Here each throttle is one Lua call that reads two counters and increments one (a sliding window: the
previous fixed window's count weighted by how much of it still overlaps the last `duration` seconds, plus the
current window's), and the default throttle is a single class that applies the `anon` or the `user` rate.

They fail open: losing Redis must not take the API down with it (ARCHITECTURE.md: the API keeps answering,
slower). The gateway still limits per process then. Without Redis at all (the embedded mode) DRF's cache-based
counting applies, in the process's local-memory cache.

Leases (the default throttle only, THROTTLE_LEASE > 1): while a client's window has plenty left, the Lua call counts
a block of `lease` hits at once and the process spends the rest of the block locally, as the gateway's limits do
(api_gateway/app/limits.py): a busy client costs one Redis round trip per `lease` requests, not one per request
(that round trip was ~12 % of the CPU of `GET /users/me/`). What that costs, bounded by the lease:
- never more than the limit: every hit spent was counted in Redis first, and a block is only granted while the
  window's weighted count plus the whole block fits (the weight of the previous window only shrinks afterwards);
  a block dies with the window it was counted in;
- a client spread over several processes can be refused by one while another still holds unspent hits: at most
  (processes - 1) x (lease - 1) requests early, only near its limit.
Blocks are granted only while more than LEASE_HEADROOM blocks are left, so the last hits before a limit are counted
one by one and a 429 (with its Retry-After) always comes from Redis, as without leases. The scoped throttles
(sign-up, password reset and change, e-mail resends) are never leased: small limits that guard accounts and
addresses must count every hit where every process sees it.
"""

import logging
import threading
import time

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from .client_address import client_ip
from .redis import redis_client, run_script

logger = logging.getLogger(__name__)

# KEYS: this window's counter, the previous window's. ARGV: limit, window seconds, elapsed part of this window (0-1),
# lease, headroom. Counts `lease` hits while more than `headroom` leases are left, else one. Answers {hits counted
# (0: refused), this window's count, previous window's count}; a refused request is not counted (as in DRF).
_HIT_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[4])
local counted = previous * (1 - tonumber(ARGV[3])) + current
local grant = 1
if lease > 1 and limit - counted > lease * tonumber(ARGV[5]) then
    grant = lease
end
if counted + grant > limit then
    return {0, current, previous}
end
redis.call('INCRBY', KEYS[1], grant)
redis.call('EXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return {grant, current + grant, previous}
"""
# Blocks are granted only while more than this many are left in the window (module docstring).
LEASE_HEADROOM = 4
# Unspent hits by (client key, limit, window length, window index). A block dies with its window, so entries of past
# windows are dead weight: dropped all at once past this size (what they held goes unspent, as documented above).
MAX_LEASES = 10_000
_leases: dict[tuple, int] = {}
_leases_lock = threading.Lock()  # gthread workers: two threads must not spend one hit twice


def _spend_leased(lease_key: tuple) -> bool:
    with _leases_lock:
        left = _leases.get(lease_key)
        if not left:
            return False
        if left == 1:
            del _leases[lease_key]
        else:
            _leases[lease_key] = left - 1
        return True


def _keep_lease(lease_key: tuple, hits: int) -> None:
    with _leases_lock:
        if len(_leases) >= MAX_LEASES:
            _leases.clear()
        _leases[lease_key] = hits


def _seconds_until_allowed(*, limit: int, window: int, elapsed: float, current: int, previous: int) -> float:
    """When one more request fits again (no other request counted meanwhile), `elapsed` being 0-1 of this window."""
    excess = previous * (1 - elapsed) + current + 1 - limit
    if previous and excess <= previous * (1 - elapsed):  # the previous window's weight shrinks enough in this one
        return excess / previous * window
    # In the next window this one is the previous one: its weight must shrink until one more request fits.
    later = max(0.0, 1 - (limit - 1) / current) if current else 0.0
    return (1 - elapsed + later) * window


class RedisCountedThrottle(SimpleRateThrottle):
    """The counting of DRF's SimpleRateThrottle, in one Redis round trip. Subclasses list it after DRF's class
    (`class X(ScopedRateThrottle, RedisCountedThrottle)`), so DRF's `allow_request` (which picks the scope and
    rate) runs first and its `super()` call lands here instead of in DRF's cache-based counting."""

    def lease_size(self) -> int:
        """Hits counted in Redis per round trip while the window has room (module docstring); 1: every hit."""
        return 1

    def allow_request(self, request, view):
        client = redis_client()
        if client is None or self.rate is None:
            return super().allow_request(request, view)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = self.duration
        index, offset = divmod(now, window)
        elapsed = offset / window
        lease = self.lease_size()
        lease_key = (key, self.num_requests, window, int(index))
        if lease > 1 and _spend_leased(lease_key):
            self._wait = 0.0
            return True
        # One hash tag per client key: both counters live in the same Redis Cluster slot.
        keys = [f"{{{key}}}:{int(index)}", f"{{{key}}}:{int(index) - 1}"]
        counted, current, previous = run_script(
            client, _HIT_LUA, keys=keys, args=[self.num_requests, window, elapsed, lease, LEASE_HEADROOM]
        )
        if counted > 1:
            _keep_lease(lease_key, counted - 1)  # this request spends one of the block
        self._wait = (
            0.0
            if counted
            else _seconds_until_allowed(
                limit=self.num_requests, window=window, elapsed=elapsed, current=current, previous=previous
            )
        )
        return bool(counted)

    def wait(self):
        if redis_client() is None:
            return super().wait()
        # Retry-After is whole seconds (DRF rounds up): never 0 for a refused request.
        return max(self._wait, 1.0)


class FailOpenMixin:
    def get_ident(self, request):
        # DRF's own get_ident trusts X-Forwarded-For by a proxy count, whoever sent it; ours checks the sender.
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache backend's connection errors (redis-py, socket) have no common base
            logger.warning("throttle %s skipped: cache unavailable", type(self).__name__, exc_info=True)
            return True


class FailOpenScopedRateThrottle(FailOpenMixin, ScopedRateThrottle, RedisCountedThrottle):
    pass


class FailOpenRequestRateThrottle(FailOpenMixin, RedisCountedThrottle):
    """The default throttle of every view: the `user` rate per account with a token, else the `anon` rate per
    client address. One class and one count where DRF's anon + user pair counted an anonymous client twice
    (in both scopes, by address: the lower rate decided), so one Redis round trip per request."""

    def __init__(self):
        # DRF reads the rate here; this one depends on who is asking, known only once the request is authenticated.
        pass

    def allow_request(self, request, view):
        self.authenticated = bool(request.user and request.user.is_authenticated)
        self.scope = "user" if self.authenticated else "anon"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def lease_size(self) -> int:
        return settings.THROTTLE_LEASE

    def get_cache_key(self, request, view):
        ident = request.user.pk if self.authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
