"""Rate limits, close to Mastodon's defaults, all configurable (limit strings in the `limits` library's notation).

- per access token (its sha256, not the token) for requests carrying a bearer token;
- per client IP for anonymous requests;
- stricter per-IP limits for sign-up (POST /users/create/) and for password/code guessing
  (POST /o/token/, POST /accounts/login/, POST /admin/login/), on top of the general one;
- per client IP for tokens that turned out invalid, so random tokens cannot buy fresh buckets.

Counters live in Redis so every gateway process shares them. With the default fixed-window strategy one Lua call
increments every counter that applies to a request and returns the counts and their remaining lives, from which
the X-RateLimit-* headers are written. (Flask-Limiter, used before, cost about 1 ms of CPU per request in its own
bookkeeping, a third of the gateway's.) The other strategies go through the `limits` library's own storage, a few
round trips per limit. If Redis is down (or REDIS_URL is unset) each process counts in its own memory for a
while: limits stay enforced, per process, and no request fails because of Redis.

Leases (fixed window, GATEWAY_RATELIMIT_LEASE > 1): while a window has plenty left, the Lua call reserves a block
of `lease` hits for the calling process instead of one, and that process spends the block locally: a busy token
costs one Redis round trip per `lease` requests instead of one per request. The tradeoff, bounded by the lease:
- never more than the limit: every hit spent is one reserved in Redis, within the window it was reserved in
  (a block dies with its window);
- a client whose requests spread over several processes can get its 429 from one process while another still
  holds reserved hits, i.e. up to (processes - 1) x (lease - 1) requests early, and up to that many reserved hits
  can go unspent when the window ends;
- X-RateLimit-Remaining is the count when the block was reserved minus what this process spent since: it does
  not see other processes' hits until its next block.
Blocks are reserved only while more than LEASE_HEADROOM leases are left in the window: the last hits before a
limit are counted one by one in Redis, exactly as without leases, so small limits (sign-up, login, bad tokens)
are never leased and the 429 of a single client on a single process comes at exactly the limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import STRATEGIES, RateLimiter

from .config import ConfigError, GatewayConfig

logger = logging.getLogger(__name__)

SIGNUP_PATHS = frozenset({"/users/create/"})
# Every form or endpoint that checks a password or a code: the admin's own login form included, so the
# admin site is not the one door left open to password guessing.
LOGIN_PATHS = frozenset({"/o/token/", "/accounts/login/", "/admin/login/"})

# For each key: reserve `grant` hits (the lease asked for while more than ARGV headroom x lease are left, else one),
# start the window (PEXPIRE) on its first hit, and return the count, the window's remaining life (ms) and the
# grant, every key in the same round trip. ARGV: headroom, then window ms, limit, lease for each key.
HIT_ALL = """
local headroom = tonumber(ARGV[1])
local result = {}
for i, key in ipairs(KEYS) do
    local window_ms, amount, lease = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
    local grant = 1
    if lease > 1 and amount - tonumber(redis.call('get', key) or '0') > lease * headroom then
        grant = lease
    end
    local current = redis.call('incrby', key, grant)
    if current == grant then
        redis.call('pexpire', key, window_ms)
    end
    result[3 * i - 2] = current
    result[3 * i - 1] = redis.call('pttl', key)
    result[3 * i] = grant
end
return result
"""
# Blocks are reserved only while more than this many blocks are left in the window (see the module docstring).
LEASE_HEADROOM = 4


@dataclass(frozen=True)
class Window:
    """One limit after this request's hit: what the X-RateLimit-* headers and a 429 say."""

    item: RateLimitItem
    remaining: int
    reset_at: float  # epoch seconds
    allowed: bool


@dataclass
class _Lease:
    """Hits of one counter reserved in Redis by this process: slots `next` to `last` of the window."""

    next: int
    last: int
    reset_at: float  # epoch seconds, for the headers
    expires: float  # time.monotonic() at which the window (and so the block) ends


class _Shared:
    """Fixed windows on Redis, every counter of a request in one Lua call, hits reserved in leases (see above)."""

    def __init__(self, client: redis.Redis, lease: int = 1):
        self.client = client
        self.script = client.register_script(HIT_ALL)
        self.lease = lease
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def _spend_leased(self, item: RateLimitItem, key: str, now: float) -> Window | None:
        lease = self._leases.get(key)
        if lease is None or lease.next > lease.last or lease.expires <= now:
            return None
        slot = lease.next
        lease.next += 1
        return Window(item, max(item.amount - slot, 0), lease.reset_at, slot <= item.amount)

    def hit(self, hits: list[tuple[RateLimitItem, str]], lease: bool = True) -> list[Window]:
        """`lease=False` counts every hit in Redis (bad tokens: their peek must see every hit at once)."""
        windows: list[Window | None] = [None] * len(hits)
        if lease and self.lease > 1:
            now = time.monotonic()
            with self._lock:
                for index, (item, key) in enumerate(hits):
                    windows[index] = self._spend_leased(item, key, now)
        missing = [index for index, window in enumerate(windows) if window is None]
        if not missing:
            return windows
        size = self.lease if lease else 1
        args = [LEASE_HEADROOM]
        for index in missing:
            item = hits[index][0]
            args += [item.get_expiry() * 1000, item.amount, size]
        flat = self.script(keys=[hits[index][1] for index in missing], args=args)
        now, wall = time.monotonic(), time.time()
        with self._lock:
            for position, index in enumerate(missing):
                item, key = hits[index]
                count, ttl_ms, grant = (int(value) for value in flat[3 * position : 3 * position + 3])
                seconds = max(ttl_ms, 0) / 1000
                slot = count - grant + 1  # the first reserved hit is this request's
                windows[index] = Window(item, max(item.amount - slot, 0), wall + seconds, slot <= item.amount)
                if grant > 1:
                    self._leases[key] = _Lease(slot + 1, count, wall + seconds, now + seconds)
                elif key in self._leases:
                    del self._leases[key]
        return windows

    def peek(self, item: RateLimitItem, key: str) -> Window:
        count, ttl = self.client.pipeline(transaction=False).get(key).ttl(key).execute()
        count = int(count or 0)
        reset_at = time.time() + (ttl if ttl and ttl > 0 else item.get_expiry())
        return Window(item, max(item.amount - count, 0), reset_at, count < item.amount)


class _Strategy:
    """Any strategy of the `limits` library over its own storage: process memory, or Redis for the strategies the
    Lua call does not implement."""

    def __init__(self, limiter: RateLimiter):
        self.limiter = limiter

    def hit(self, hits: list[tuple[RateLimitItem, str]], lease: bool = True) -> list[Window]:
        windows = []  # `lease` is for _Shared: these strategies count every hit where they store it
        for item, key in hits:
            allowed = self.limiter.hit(item, key)
            stats = self.limiter.get_window_stats(item, key)
            windows.append(Window(item, stats.remaining, stats.reset_time, allowed))
        return windows

    def peek(self, item: RateLimitItem, key: str) -> Window:
        stats = self.limiter.get_window_stats(item, key)
        return Window(item, stats.remaining, stats.reset_time, self.limiter.test(item, key))


def _parse(config: GatewayConfig, name: str) -> tuple[RateLimitItem, ...]:
    value = getattr(config, name)
    try:
        return tuple(parse_many(value))
    except ValueError as exc:
        raise ConfigError(f"GATEWAY_{name.upper()} is not a rate limit string: {value!r}") from exc


class RateLimits:
    """Every limit of the gateway and where its counters live. Decisions only; app/__init__.py turns them into
    429s and headers."""

    RETRY_REDIS_AFTER_SECONDS = 5.0

    def __init__(self, config: GatewayConfig):
        self.enabled = config.ratelimit_enabled
        self.prefix = config.ratelimit_key_prefix
        self.token = _parse(config, "limit_token")
        self.anon = _parse(config, "limit_anon")
        self.signup = _parse(config, "limit_signup")
        self.login = _parse(config, "limit_login")
        self.bad_token = _parse(config, "limit_bad_token")[0]
        strategy = STRATEGIES[config.ratelimit_strategy]
        self.memory = _Strategy(strategy(MemoryStorage()))
        self.shared: _Shared | _Strategy | None = None
        if config.redis_url:
            options = {"socket_timeout": config.redis_timeout, "socket_connect_timeout": config.redis_timeout}
            if config.ratelimit_strategy == "fixed-window":
                self.shared = _Shared(redis.Redis.from_url(config.redis_url, **options), config.ratelimit_lease)
            else:
                self.shared = _Strategy(strategy(storage_from_string(config.redis_url, **options)))
        self._down_until = 0.0

    def _key(self, scope: str, identity: str, item: RateLimitItem) -> str:
        return item.key_for(self.prefix, scope, identity)

    def _run(self, operation: str, *args):
        """The operation on the shared counters, or on this process's while Redis is down (one timeout per
        back-off period, not one per request)."""
        if self.shared is not None and time.monotonic() >= self._down_until:
            try:
                return getattr(self.shared, operation)(*args)
            except (redis.RedisError, OSError) as exc:
                logger.warning("Redis unavailable for rate limits, counting in process memory: %s", exc)
                self._down_until = time.monotonic() + self.RETRY_REDIS_AFTER_SECONDS
        return getattr(self.memory, operation)(*args)

    def hit(self, *, method: str, path: str, ip: str, token_key: str | None) -> list[Window]:
        """Count this request against every limit that applies to it; each window says whether it still fits."""
        if not self.enabled:
            return []
        if token_key is None:
            hits = [(item, self._key("anon", ip, item)) for item in self.anon]
        else:
            hits = [(item, self._key("token", token_key, item)) for item in self.token]
        if method == "POST" and path in SIGNUP_PATHS:
            hits += [(item, self._key("signup", ip, item)) for item in self.signup]
        if method == "POST" and path in LOGIN_PATHS:
            hits += [(item, self._key("login", ip, item)) for item in self.login]
        return self._run("hit", hits)

    def bad_tokens_retry_after(self, ip: str) -> int | None:
        """Seconds until this address may present unknown tokens again, or None while it still may."""
        if not self.enabled:
            return None
        window = self._run("peek", self.bad_token, self._key("badtoken", ip, self.bad_token))
        return None if window.allowed else retry_after(window)

    def bad_token_seen(self, ip: str) -> None:
        if self.enabled:
            # Never leased: bad_tokens_retry_after reads the count in Redis, which must hold every hit.
            self._run("hit", [(self.bad_token, self._key("badtoken", ip, self.bad_token))], False)


def retry_after(window: Window) -> int:
    return max(1, math.ceil(window.reset_at - time.time()))


def rate_limit_headers(window: Window) -> list[tuple[str, str]]:
    return [
        ("X-RateLimit-Limit", str(window.item.amount)),
        ("X-RateLimit-Remaining", str(window.remaining)),
        ("X-RateLimit-Reset", str(math.ceil(window.reset_at))),
    ]


def reported_window(windows: list[Window]) -> Window | None:
    """The window the headers describe: the one that refused the request, else the closest to refusing it."""
    refused = [window for window in windows if not window.allowed]
    if refused:
        return max(refused, key=lambda window: window.reset_at)
    return min(windows, key=lambda window: window.remaining, default=None)
