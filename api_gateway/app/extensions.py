"""The long-lived objects of one gateway process: the upstream connection pool, the cache, the validator, limits."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from .auth import CachedIntrospectionValidator
from .cache import TTLCache
from .config import GatewayConfig
from .limits import RateLimits
from .upstream import UpstreamPool


def build_upstream_pool(config: GatewayConfig) -> UpstreamPool:
    """One pool of kept-alive connections to the one upstream (app/upstream.py says why it is not urllib3's)."""
    return UpstreamPool(
        config.upstream_url,
        maxsize=config.upstream_pool_size,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
    )


def upstream_path(config: GatewayConfig, target: str) -> str:
    """The path to request on the upstream pool for a client's target (an upstream URL may carry a path prefix)."""
    return urlsplit(config.upstream_url).path + target


@dataclass
class Gateway:
    config: GatewayConfig
    upstream: UpstreamPool
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
