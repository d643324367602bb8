"""The fast path: ordinary bodiless GETs and HEADs forwarded without Flask.

Most traffic through the gateway is a GET with a bearer token that the gateway checked a moment ago. For those,
Flask's request context, its before/after hooks and routing, and building a Response object cost about a quarter
of the gateway's own CPU per request (a cProfile of the in-process app: ~0.2 ms of ~0.9 ms); the fast path does
the same work with the same functions (app/forwarding.py, app/limits.py, app/upstream.py) over a plain werkzeug
Request, and writes the upstream's answer straight to the WSGI server.

It takes a request only when nothing about it needs more than that: GET or HEAD, no body, not the gateway's own
paths, no CORS origin to answer, and either no bearer token or one this process's memory already vouches for
(app/auth.py, known_active). Everything else goes to the Flask app (app/__init__.py), which does what it always
did: token checks against Redis or Django, 401, 429, 414, CORS, bodies. A request handed over after its rate-limit
hits were counted here carries them in the environ (COUNTED_WINDOWS), so nothing is counted twice and a 429 is
written by the one code that writes 429s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus

from werkzeug.wrappers import Request

from .auth import bearer_token, token_key
from .errors import error_body
from .extensions import Gateway, upstream_path
from .forwarding import client_ip, downstream_response_headers, request_id_for, request_target, upstream_request_headers
from .limits import Window, rate_limit_headers, reported_window
from .upstream import UpstreamError, UpstreamTimeout, relay, request_line_too_long

logger = logging.getLogger(__name__)

COUNTED_WINDOWS = "gateway.counted_windows"
# The gateway's own routes (app/routes/health.py). The router also matches them with extra slashes ("//healthz/"):
# any path that names them goes to Flask, which is never wrong, only slower.
OWN_PATH_NAMES = frozenset({"healthz", "readyz"})


class _Relay:
    """The upstream's body as the WSGI response iterable; closed by the server when it is done or the client left."""

    def __init__(self, upstream, request_id: str):
        self._upstream = upstream
        self._chunks = relay(upstream, request_id)

    def __iter__(self):
        return self._chunks

    def close(self):
        self._upstream.close()


class FastPath:
    """WSGI middleware in front of the Flask app (app.wsgi_app)."""

    def __init__(self, app: Callable, gw: Gateway):
        self.app = app
        self.gw = gw

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self._eligible(environ):
            return self.app(environ, start_response)
        try:
            return self._forward(environ, start_response)
        except Exception:
            logger.exception("Unhandled gateway error")
            return _answer(environ, start_response, 500, [])

    def _eligible(self, environ: dict) -> bool:
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return False
        if environ.get("CONTENT_LENGTH") or "HTTP_TRANSFER_ENCODING" in environ:
            return False
        if environ.get("PATH_INFO", "").strip("/") in OWN_PATH_NAMES:
            return False
        config = self.gw.config
        if config.cors_origins and "HTTP_ORIGIN" in environ:
            return False
        authorization = environ.get("HTTP_AUTHORIZATION")
        # Too large (431) or a malformed bearer header (401): Flask's answer.
        return authorization is None or (
            len(authorization) <= config.max_auth_header_bytes and bearer_token(authorization) != ""
        )

    def _forward(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        gw, config = self.gw, self.gw.config
        request = Request(environ)
        method = environ["REQUEST_METHOD"]
        target = request_target(request)
        if target is None or request_line_too_long(method, upstream_path(config, target)):
            return self.app(environ, start_response)  # 400 / 414
        authorization = environ.get("HTTP_AUTHORIZATION")
        token = bearer_token(authorization) if authorization else None
        key = token_key(token) if token else None
        windows = gw.limits.hit(
            method=method, path=request.path, ip=client_ip(request, config.trusted_proxies), token_key=key
        )
        window = reported_window(windows)
        refused = window is not None and not window.allowed
        if refused or (key is not None and config.introspection_enabled and not gw.validator.known_active(key)):
            environ[COUNTED_WINDOWS] = windows
            return self.app(environ, start_response)

        request_id = request_id_for(request)
        headers = upstream_request_headers(request, request_id=request_id, trusted_proxies=config.trusted_proxies)
        extra = [("X-Request-ID", request_id), *_limit_headers(window)]
        try:
            upstream = gw.upstream.request(
                method, upstream_path(config, target), headers, replayable=True, request_id=request_id
            )
        except UpstreamTimeout:
            logger.warning("Upstream too slow for %s %s (request %s)", method, request.path, request_id)
            return _answer(environ, start_response, 504, extra)
        except UpstreamError as exc:
            logger.warning("Upstream unreachable (request %s): %s", request_id, exc)
            return _answer(environ, start_response, 502, extra)
        response_headers = downstream_response_headers(upstream.headers)
        start_response(f"{upstream.status} {upstream.reason or 'UNKNOWN'}", response_headers + extra)
        return _Relay(upstream, request_id)


def _limit_headers(window: Window | None) -> list[tuple[str, str]]:
    return rate_limit_headers(window) if window is not None else []


def _answer(environ: dict, start_response: Callable, status: int, headers: list[tuple[str, str]]) -> list[bytes]:
    """One of the gateway's own JSON errors, as json_error (app/errors.py) writes them."""
    body = error_body(status)
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
    )
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
