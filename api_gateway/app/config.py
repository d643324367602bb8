"""Gateway configuration, read once from the environment (12-factor). Every variable is in docs/configuration.md."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, MutableMapping
from urllib.parse import urlsplit

MIB = 1024 * 1024


class ConfigError(ValueError):
    """A setting has a value the gateway cannot run with; raised at start-up, never per request."""


def load_env_file(path: str | os.PathLike, environ: MutableMapping[str, str] | None = None) -> bool:
    """Add the KEY=VALUE lines of a .env file (the checkout's, written by `make run`) to the environment, without
    replacing what is already set: the environment wins. Returns whether the file existed."""
    environ = os.environ if environ is None else environ
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (FileNotFoundError, IsADirectoryError):
        return False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        environ.setdefault(name.strip(), value)
    return True


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an http(s) URL without query or fragment, got {value!r}")
    return value.rstrip("/")


@dataclasses.dataclass(frozen=True)
class GatewayConfig:
    upstream_url: str = "http://127.0.0.1:8000"
    # Defaults to <upstream>/o/introspect/; separate so the gateway can introspect against another host.
    introspection_url: str = ""
    connect_timeout: float = 3.05
    read_timeout: float = 30.0
    upstream_pool_size: int = 32
    # Slow clients: every read of a request body must progress within client_timeout, and the whole body must
    # arrive within client_timeout + length / client_min_rate (bytes per second).
    client_timeout: float = 10.0
    client_min_rate: int = 8192
    # Request bodies up to this size are read in full before the upstream is contacted; larger ones stream.
    buffer_body_bytes: int = MIB
    max_body_bytes: int = 16 * MIB
    max_auth_header_bytes: int = 4096
    trusted_proxies: int = 0
    cors_origins: tuple[str, ...] = ()
    client_id: str = "socialnet-gateway"
    client_secret: str = ""
    redis_url: str = ""
    redis_timeout: float = 0.25
    introspection_cache_seconds: int = 30
    introspection_timeout: float = 5.0
    local_cache_seconds: int = 5
    ratelimit_enabled: bool = True
    ratelimit_strategy: str = "fixed-window"
    ratelimit_key_prefix: str = "gw"
    # Hits of a counter a process reserves in one Redis call and spends locally (app/limits.py); 1: no leases.
    ratelimit_lease: int = 10
    limit_token: str = "300 per 5 minutes"
    limit_anon: str = "300 per 5 minutes"
    limit_signup: str = "5 per 30 minutes"
    limit_login: str = "25 per 5 minutes"
    limit_bad_token: str = "60 per 5 minutes"

    def __post_init__(self):
        object.__setattr__(self, "upstream_url", _url(self.upstream_url, "GATEWAY_UPSTREAM_URL"))
        introspection = self.introspection_url or f"{self.upstream_url}/o/introspect/"
        object.__setattr__(self, "introspection_url", _url(introspection, "GATEWAY_INTROSPECTION_URL") + "/")
        if not 1 <= self.introspection_cache_seconds <= 30:
            # API.md promises that a revoked token stops working within 30 s, gateway included.
            raise ConfigError("GATEWAY_INTROSPECTION_CACHE_SECONDS must be between 1 and 30")
        if self.ratelimit_strategy not in ("fixed-window", "moving-window", "sliding-window-counter"):
            raise ConfigError(
                "GATEWAY_RATELIMIT_STRATEGY must be fixed-window, moving-window or sliding-window-counter"
            )
        for origin in self.cors_origins:
            if origin != "*" and (urlsplit(origin).scheme not in ("http", "https") or urlsplit(origin).path):
                raise ConfigError(f"GATEWAY_CORS_ORIGINS takes origins like https://app.example, got {origin!r}")

    @property
    def introspection_enabled(self) -> bool:
        return bool(self.client_secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        return cls(
            upstream_url=env.get("GATEWAY_UPSTREAM_URL", "").strip() or cls.upstream_url,
            introspection_url=env.get("GATEWAY_INTROSPECTION_URL", "").strip(),
            connect_timeout=_float(env, "GATEWAY_CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=_float(env, "GATEWAY_READ_TIMEOUT", cls.read_timeout),
            upstream_pool_size=_int(env, "GATEWAY_UPSTREAM_POOL_SIZE", cls.upstream_pool_size, minimum=1),
            client_timeout=_float(env, "GATEWAY_CLIENT_TIMEOUT", cls.client_timeout),
            client_min_rate=_int(env, "GATEWAY_CLIENT_MIN_RATE", cls.client_min_rate, minimum=1),
            buffer_body_bytes=_int(env, "GATEWAY_BUFFER_BODY_BYTES", cls.buffer_body_bytes),
            max_body_bytes=_int(env, "GATEWAY_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1),
            max_auth_header_bytes=_int(env, "GATEWAY_MAX_AUTH_HEADER_BYTES", cls.max_auth_header_bytes, minimum=64),
            trusted_proxies=_int(env, "GATEWAY_TRUSTED_PROXIES", cls.trusted_proxies),
            cors_origins=_list(env, "GATEWAY_CORS_ORIGINS"),
            client_id=env.get("GATEWAY_CLIENT_ID", "").strip() or cls.client_id,
            client_secret=env.get("GATEWAY_CLIENT_SECRET", ""),
            redis_url=env.get("REDIS_URL", "").strip(),
            redis_timeout=_float(env, "GATEWAY_REDIS_TIMEOUT", cls.redis_timeout),
            introspection_cache_seconds=_int(
                env, "GATEWAY_INTROSPECTION_CACHE_SECONDS", cls.introspection_cache_seconds, minimum=1
            ),
            introspection_timeout=_float(env, "GATEWAY_INTROSPECTION_TIMEOUT", cls.introspection_timeout),
            local_cache_seconds=_int(env, "GATEWAY_LOCAL_CACHE_SECONDS", cls.local_cache_seconds),
            ratelimit_enabled=env.get("GATEWAY_RATELIMIT_ENABLED", "true").strip().lower() not in ("0", "false", "no"),
            ratelimit_strategy=env.get("GATEWAY_RATELIMIT_STRATEGY", "").strip() or cls.ratelimit_strategy,
            ratelimit_key_prefix=env.get("GATEWAY_RATELIMIT_KEY_PREFIX", "").strip() or cls.ratelimit_key_prefix,
            ratelimit_lease=_int(env, "GATEWAY_RATELIMIT_LEASE", cls.ratelimit_lease, minimum=1),
            limit_token=env.get("GATEWAY_LIMIT_TOKEN", "").strip() or cls.limit_token,
            limit_anon=env.get("GATEWAY_LIMIT_ANON", "").strip() or cls.limit_anon,
            limit_signup=env.get("GATEWAY_LIMIT_SIGNUP", "").strip() or cls.limit_signup,
            limit_login=env.get("GATEWAY_LIMIT_LOGIN", "").strip() or cls.limit_login,
            limit_bad_token=env.get("GATEWAY_LIMIT_BAD_TOKEN", "").strip() or cls.limit_bad_token,
        )
