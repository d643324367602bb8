"""SocialNet API gateway: the front door on :5000 in front of Django (docs/architecture.md, "Gateway")."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, g, request

from .auth import IntrospectionUnavailable, bearer_token, token_key
from .config import GatewayConfig
from .errors import json_error, register_error_handlers
from .extensions import Gateway, gateway
from .fastpath import COUNTED_WINDOWS, FastPath
from .forwarding import client_ip, request_id_for
from .limits import rate_limit_headers, reported_window, retry_after

logger = logging.getLogger(__name__)

GATEWAY_PATHS = frozenset({"health.healthz", "health.readyz"})
CORS_EXPOSED = "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Location"
CORS_HEADER_RE = re.compile(r"[A-Za-z0-9-]+")


def create_app(config: GatewayConfig | None = None) -> Flask:
    config = config or GatewayConfig.from_env()
    # No static folder: Flask would otherwise own /static/* and hide Django's static files (Swagger UI, admin).
    app = Flask(__name__, static_folder=None)
    # The request target is forwarded as sent: the router must not redirect "//x" to "/x" on its own.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    gw = Gateway.build(config)
    app.extensions["gateway"] = gw

    from .routes import health, proxy

    app.register_blueprint(health.bp)
    app.register_blueprint(proxy.bp)
    register_error_handlers(app)

    # Order matters: request id, CORS preflight and header sanity first, then the limits, then token checks.
    app.before_request(_assign_request_id)
    app.before_request(_cors_preflight)
    app.before_request(_refuse_oversized_authorization)
    app.before_request(_rate_limit)
    app.before_request(_authenticate)
    app.after_request(_finish_response)
    app.teardown_request(_close_spool)
    # Ordinary bodiless GETs and HEADs skip Flask; anything else (or anything unusual) reaches it as before.
    app.wsgi_app = FastPath(app.wsgi_app, gw)

    if not config.introspection_enabled:
        logger.warning(
            "GATEWAY_CLIENT_SECRET is not set: bearer tokens are not checked at the edge (Django still checks them)."
        )
    return app


def _assign_request_id():
    g.request_id = request_id_for(request)


def _cors_origin() -> str | None:
    origin = request.headers.get("Origin")
    allowed = gateway().config.cors_origins
    if not origin or not allowed:
        return None
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


def _cors_preflight():
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    origin = _cors_origin()
    if origin is None:
        return None  # not ours to answer: Django sees a plain OPTIONS
    requested = request.headers.get("Access-Control-Request-Headers", "")
    allowed_headers = ", ".join(h.strip() for h in requested.split(",") if CORS_HEADER_RE.fullmatch(h.strip()))
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    if allowed_headers:
        response.headers["Access-Control-Allow-Headers"] = allowed_headers
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def _refuse_oversized_authorization():
    header = request.headers.get("Authorization")
    if header is not None and len(header) > gateway().config.max_auth_header_bytes:
        return json_error(431, "The Authorization header is too large.")
    return None


def _client_ip() -> str:
    if "client_ip" not in g:
        g.client_ip = client_ip(request, gateway().config.trusted_proxies)
    return g.client_ip


def _bearer() -> str | None:
    """The request's bearer token; "" for a malformed bearer header; None without one (or for another scheme)."""
    if "bearer" not in g:
        g.bearer = bearer_token(request.headers.get("Authorization", ""))
    return g.bearer


def _rate_limit():
    if request.endpoint in GATEWAY_PATHS:
        return None
    # Already counted when the fast path handed the request over (app/fastpath.py): never count twice.
    windows = request.environ.get(COUNTED_WINDOWS)
    if windows is None:
        token = _bearer()
        windows = gateway().limits.hit(
            method=request.method, path=request.path, ip=_client_ip(), token_key=token_key(token) if token else None
        )
    g.rate_limit = window = reported_window(windows)
    if window is not None and not window.allowed:
        return json_error(
            429, f"Request was throttled ({window.item}).", headers={"Retry-After": str(retry_after(window))}
        )
    return None


def _authenticate():
    """Bearer tokens are checked here; requests without one pass (Django decides what is public)."""
    if request.endpoint in GATEWAY_PATHS or request.endpoint is None:
        return None
    gw = gateway()
    token = _bearer()
    if token is None:
        return None  # no Authorization, or another scheme (e.g. a confidential client's Basic): Django decides
    unauthorized = {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'}
    if token == "":
        return json_error(401, "Malformed bearer token.", headers=unauthorized)
    if not gw.config.introspection_enabled:
        return None
    ip = _client_ip()

    def refuse_if_guessing():
        # Checked only for tokens the cache does not know: random tokens must not buy fresh buckets or
        # unlimited introspection calls.
        wait = gw.limits.bad_tokens_retry_after(ip)
        if wait is not None:
            raise _TooManyBadTokens(wait)

    try:
        active = gw.validator.is_active(token, before_asking=refuse_if_guessing)
    except _TooManyBadTokens as exc:
        return json_error(
            429, "Too many invalid access tokens from this address.", headers={"Retry-After": str(exc.seconds)}
        )
    except IntrospectionUnavailable as exc:
        logger.warning("Token introspection failed (request %s): %s", g.request_id, exc)
        if exc.too_slow:
            return json_error(504, "The access token could not be verified: the API took too long to answer.")
        return json_error(502, "The access token could not be verified: the API is unreachable.")
    if not active:
        gw.limits.bad_token_seen(ip)
        return json_error(401, headers=unauthorized)
    return None


class _TooManyBadTokens(Exception):
    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def _finish_response(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id") or request_id_for(request)
    window = g.get("rate_limit")
    if window is not None:
        for name, value in rate_limit_headers(window):
            response.headers[name] = value
    origin = _cors_origin()
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
        if origin != "*":
            response.headers.add("Vary", "Origin")
    return response


def _close_spool(exc: BaseException | None = None):
    spool = g.pop("spool", None)
    if spool is not None:
        spool.close()
    deadline = g.pop("body_deadline", None)
    if deadline is not None:
        deadline.cancel()


__all__ = ["GatewayConfig", "create_app"]
