"""Rate limits (Flask-Limiter), close to Mastodon's defaults, all configurable.

- per access token (its sha256, not the token) for requests carrying a bearer token;
- per client IP for anonymous requests;
- stricter per-IP limits for sign-up (POST /users/create/) and for password/code guessing
  (POST /o/token/, POST /accounts/login/, POST /admin/login/), on top of the general one;
- per client IP for tokens that turned out invalid, so random tokens cannot buy fresh buckets.

Counters live in Redis so every gateway process shares them. If Redis is down (or REDIS_URL is unset) each process
counts in its own memory: limits stay enforced, per process, and no request fails because of Redis.
"""

from __future__ import annotations

import contextlib
import math
import time

from flask import Flask, current_app, g, request
from flask_limiter import Limit, Limiter
from limits import parse_many

from .auth import bearer_token, token_key
from .config import ConfigError, GatewayConfig
from .forwarding import client_ip
from .limit_storage import SCHEME_PREFIX

SIGNUP_PATHS = frozenset({"/users/create/"})
# Every form or endpoint that checks a password or a code: the admin's own login form included, so the
# admin site is not the one door left open to password guessing.
LOGIN_PATHS = frozenset({"/o/token/", "/accounts/login/", "/admin/login/"})


def _config() -> GatewayConfig:
    return current_app.extensions["gateway"].config


def ip_key() -> str:
    if "client_ip" not in g:
        g.client_ip = client_ip(request, _config().trusted_proxies)
    return g.client_ip


def _token() -> str | None:
    if "bearer" not in g:
        g.bearer = bearer_token(request.headers.get("Authorization", "")) or None
    return g.bearer


def token_bucket_key() -> str:
    return token_key(_token() or "")


def _is_post_to(paths: frozenset[str]) -> bool:
    return request.method == "POST" and request.path in paths


def storage_uri(config: GatewayConfig) -> str:
    if not config.redis_url:
        return "memory://"
    if config.ratelimit_strategy == "fixed-window" and config.redis_url.startswith(("redis://", "rediss://")):
        return SCHEME_PREFIX + config.redis_url  # one Redis round trip per limit instead of three
    return config.redis_url


def build_limiter(config: GatewayConfig) -> Limiter:
    for name in ("limit_token", "limit_anon", "limit_signup", "limit_login", "limit_bad_token"):
        try:
            parse_many(getattr(config, name))
        except ValueError as exc:
            raise ConfigError(f"GATEWAY_{name.upper()} is not a rate limit string: {getattr(config, name)!r}") from exc

    def limit(value: str, key_function, scope: str, exempt_when) -> Limit:
        return Limit(value, key_function=key_function, scope=scope, shared=True, exempt_when=exempt_when)

    limits = [
        limit(config.limit_token, token_bucket_key, "token", lambda: _token() is None),
        limit(config.limit_anon, ip_key, "anon", lambda: _token() is not None),
        limit(config.limit_signup, ip_key, "signup", lambda: not _is_post_to(SIGNUP_PATHS)),
        limit(config.limit_login, ip_key, "login", lambda: not _is_post_to(LOGIN_PATHS)),
    ]
    storage_options = {}
    if config.redis_url:
        # A dead Redis must cost a fraction of a second once, then the in-memory fallback takes over.
        storage_options = {"socket_timeout": config.redis_timeout, "socket_connect_timeout": config.redis_timeout}
    return Limiter(
        key_func=ip_key,
        default_limits=limits,
        storage_uri=storage_uri(config),
        storage_options=storage_options,
        strategy=config.ratelimit_strategy,
        key_prefix=config.ratelimit_key_prefix,
        headers_enabled=True,
        retry_after="delta-seconds",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        enabled=config.ratelimit_enabled,
    )


class BadTokenLimit:
    """Counts invalid bearer tokens per client IP with the limiter's own storage (and its memory fallback)."""

    def __init__(self, limiter: Limiter, limit: str, prefix: str):
        self.limiter = limiter
        self.item = parse_many(limit)[0]
        self.prefix = prefix

    def exhausted(self, ip: str) -> bool:
        if not self.limiter.enabled:
            return False
        try:
            return not self.limiter.limiter.test(self.item, self.prefix, "badtoken", ip)
        except Exception:
            return False

    def retry_after(self, ip: str) -> int:
        try:
            reset_at = self.limiter.limiter.get_window_stats(self.item, self.prefix, "badtoken", ip).reset_time
        except Exception:
            return self.item.get_expiry()
        return max(1, math.ceil(reset_at - time.time()))

    def hit(self, ip: str) -> None:
        if not self.limiter.enabled:
            return
        with contextlib.suppress(Exception):  # a storage failure must never turn into a 500
            self.limiter.limiter.hit(self.item, self.prefix, "badtoken", ip)


def init_limits(app: Flask, limiter: Limiter) -> None:
    # Retry-After belongs on 429s (and on upstream answers that carry their own); Flask-Limiter writes it on
    # every response, which tells clients on a 200 to back off for no reason. Registered before the limiter so
    # that it runs after the limiter's own after_request hook (Flask runs them in reverse order).
    @app.after_request
    def _retry_after_only_when_meaningful(response):
        if g.get("retry_after"):  # a refusal that is not Flask-Limiter's knows its own wait
            response.headers["Retry-After"] = g.retry_after
        elif g.get("upstream_retry_after"):  # Django's own (a 503, its throttles) is passed on as Django sent it
            response.headers["Retry-After"] = g.upstream_retry_after
        elif response.status_code != 429:
            response.headers.pop("Retry-After", None)
        return response

    limiter.init_app(app)
