"""The long-lived objects of one gateway process: the upstream connection pool, the cache, the validator, limits."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from flask import current_app

from .auth import CachedIntrospectionValidator
from .cache import TTLCache
from .config import GatewayConfig
from .limits import RateLimits


def build_upstream_pool(config: GatewayConfig) -> urllib3.HTTPConnectionPool:
    """One pool of kept-alive connections to the one upstream, used through urllib3 directly: requests' session
    layer (merging settings, cookie jars, hooks, re-parsing the URL) cost about 0.5 ms of CPU per request and
    offered nothing a fixed upstream needs. urllib3 reads no proxy settings, .netrc or cookies from anywhere, and
    adds no headers but the User-Agent a client did not send."""
    # No retries: a POST must never be sent twice, and a retried GET would double the wait before a 504
    # (app/routes/proxy.py retries one case itself). block=False: past maxsize, extra connections are opened and
    # closed rather than making requests wait for a free one.
    return urllib3.connection_from_url(config.upstream_url, maxsize=config.upstream_pool_size, block=False)


def upstream_path(config: GatewayConfig, target: str) -> str:
    """The path to request on the upstream pool for a client's target (an upstream URL may carry a path prefix)."""
    return urlsplit(config.upstream_url).path + target


@dataclass
class Gateway:
    config: GatewayConfig
    upstream: urllib3.HTTPConnectionPool
    cache: TTLCache
    validator: CachedIntrospectionValidator
    limits: RateLimits

    @classmethod
    def build(cls, config: GatewayConfig) -> Gateway:
        cache = TTLCache(
            redis_url=config.redis_url,
            prefix=f"{config.ratelimit_key_prefix}:introspect:",
            timeout=config.redis_timeout,
            local_seconds=min(config.local_cache_seconds, config.introspection_cache_seconds),
        )
        return cls(
            config=config,
            upstream=build_upstream_pool(config),
            cache=cache,
            validator=CachedIntrospectionValidator(config, cache),
            limits=RateLimits(config),
        )


def gateway() -> Gateway:
    return current_app.extensions["gateway"]
