"""The long-lived objects of one gateway process: the upstream connection pool, the cache, the validator, limits."""

from __future__ import annotations

import http.cookiejar
from dataclasses import dataclass

import requests
from flask import current_app
from flask_limiter import Limiter
from requests.adapters import HTTPAdapter

from .auth import CachedIntrospectionValidator
from .cache import TTLCache
from .config import GatewayConfig
from .limits import BadTokenLimit, build_limiter


class _RefuseAllCookies(http.cookiejar.DefaultCookiePolicy):
    """The upstream session is shared by every client: a cookie stored in it would leak to the next caller."""

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False


def build_upstream_session(config: GatewayConfig) -> requests.Session:
    """One pooled session to the one upstream. Clients' headers are sent as they are, so no defaults are added."""
    session = requests.Session()
    session.trust_env = False  # never route through an environment proxy or add .netrc credentials
    session.headers.clear()
    session.cookies.set_policy(_RefuseAllCookies())
    # No retries: a POST must never be sent twice, and a retried GET would double the wait before a 504.
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=config.upstream_pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass
class Gateway:
    config: GatewayConfig
    session: requests.Session
    cache: TTLCache
    validator: CachedIntrospectionValidator
    limiter: Limiter
    bad_tokens: BadTokenLimit

    @classmethod
    def build(cls, config: GatewayConfig) -> Gateway:
        cache = TTLCache(
            redis_url=config.redis_url,
            prefix=f"{config.ratelimit_key_prefix}:introspect:",
            timeout=config.redis_timeout,
            local_seconds=min(config.local_cache_seconds, config.introspection_cache_seconds),
        )
        limiter = build_limiter(config)
        return cls(
            config=config,
            session=build_upstream_session(config),
            cache=cache,
            validator=CachedIntrospectionValidator(config, cache),
            limiter=limiter,
            bad_tokens=BadTokenLimit(limiter, config.limit_bad_token, config.ratelimit_key_prefix),
        )


def gateway() -> Gateway:
    return current_app.extensions["gateway"]
