"""Forwarding: every other path and method goes to the one upstream, bodies streamed both ways."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import tempfile
import threading
from collections.abc import Iterator
from typing import IO
from urllib.parse import parse_qs

from flask import Blueprint, Response, g, request

from ..errors import json_error
from ..extensions import gateway, upstream_path
from ..forwarding import downstream_response_headers, request_target, upstream_request_headers
from ..upstream import (
    CHUNK,
    MAX_UPSTREAM_REQUEST_LINE,
    RETRYABLE_METHODS,
    UpstreamError,
    UpstreamTimeout,
    relay,
    request_line_too_long,
)

logger = logging.getLogger(__name__)

bp = Blueprint("proxy", __name__)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Chunked uploads have no length to announce; they are spooled (memory up to this, then a temp file) so Django,
# which needs a Content-Length, still gets one.
SPOOL_IN_MEMORY = 1024 * 1024
REVOKE_PATH = "/o/revoke_token/"
REVOKE_BODY_MAX = 64 * 1024
# Deeper JSON than this is refused before it is parsed: Python's parser recurses per level, and 10 KB of "[" is
# enough to exhaust its stack (a RecursionError, which used to surface as a 500).
MAX_JSON_DEPTH = 64


class BodyTooLarge(Exception):
    pass


class UnparsableBody(Exception):
    """A body the gateway itself must read (a revocation) is not the JSON it claims to be, or is nested too deep."""


class ClientBodyError(Exception):
    """The client's body could not be read: cut short, reset, or malformed chunking (the WSGI server's parser
    raises its own exception types for that, not all of them OSError)."""


class ClientTooSlow(ClientBodyError):
    """The client stopped sending, or sends its body slower than GATEWAY_CLIENT_MIN_RATE allows."""


class UpstreamBody:
    """A request body read lazily while it is sent upstream (its Content-Length is announced: `len`)."""

    def __init__(self, stream: IO[bytes], length: int, deadline: BodyDeadline | None = None):
        self._stream = stream
        self.len = length
        self._left = length
        self._deadline = deadline

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        try:
            data = self._stream.read(size)
        except TimeoutError as exc:
            raise ClientTooSlow("the client stopped sending its body") from exc
        except Exception as exc:
            if self._deadline is not None and self._deadline.expired.is_set():
                raise ClientTooSlow("the client sent its body too slowly") from exc
            raise ClientBodyError(str(exc)) from exc
        if not data:
            if self._deadline is not None and self._deadline.expired.is_set():
                raise ClientTooSlow("the client sent its body too slowly")
            # The client went away before sending what it announced; the upstream must not get a short body.
            raise ClientBodyError("the body ended before its announced length")
        self._left -= len(data)
        if self._left <= 0 and self._deadline is not None:
            self._deadline.cancel()  # all here: the connection may carry the client's next request
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


class BodyDeadline:
    """A timer that, once it fires, sets `expired` and shuts the client socket's read side."""

    def __init__(self, sock: socket.socket, seconds: float):
        self.expired = threading.Event()
        self._sock = sock
        # A green timer under gevent workers (threading is monkey-patched), a plain thread under gthread.
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self):
        self.expired.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RD)

    def cancel(self):
        self._timer.cancel()


def _body_deadline(length: int) -> BodyDeadline | None:
    """Cut the client's body off once it had GATEWAY_CLIENT_TIMEOUT plus its length at GATEWAY_CLIENT_MIN_RATE.

    While a body streams in, the upstream request and a Django worker thread wait on it, so a client dripping a
    byte now and then (never idle long enough for the socket timeout) must not hold them for hours. A blocked
    read cannot be given a deadline of its own (the server's reader loops until it has what it asked for), so a
    timer shuts the socket's read side: the read returns at once, and the 408 can still be written.
    """
    sock = request.environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return None
    config = gateway().config
    deadline = BodyDeadline(sock, config.client_timeout + length / config.client_min_rate)
    g.body_deadline = deadline  # cancelled when the request ends at the latest (teardown in app/__init__.py)
    return deadline


def _spool_chunked(stream: IO[bytes], limit: int) -> UpstreamBody:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed at teardown)
    total = 0
    while True:
        try:
            chunk = stream.read(CHUNK)
        except Exception as exc:
            spool.close()
            raise ClientBodyError(str(exc)) from exc
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            spool.close()
            raise BodyTooLarge()
        spool.write(chunk)
    spool.seek(0)
    g.spool = spool  # closed with the request
    return UpstreamBody(spool, total)


def limit_client_idle_time(seconds: float | None) -> None:
    """While the request is read, each read from the client's socket must make progress within `seconds` (else 408).
    None lifts it again: the response is written without one, as before, so a slow reader of a large image is
    not cut off. gunicorn hands us its socket; other WSGI servers (tests' werkzeug) have their own timeouts."""
    sock = request.environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        sock.settimeout(seconds)


def _buffer_body(body: UpstreamBody) -> UpstreamBody:
    """The whole body, read before the upstream is contacted (memory up to SPOOL_IN_MEMORY, then a temp file)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed at teardown)
    g.spool = spool
    while chunk := body.read(CHUNK):
        spool.write(chunk)
    spool.seek(0)
    return UpstreamBody(spool, body.len)


def _request_body(limit: int) -> UpstreamBody | bytes | None:
    length = request.content_length
    if length is not None:
        if length > limit:
            raise BodyTooLarge()
        if length == 0:
            return None if request.method in ("GET", "HEAD") else b""
        body = UpstreamBody(request.stream, length, _body_deadline(length))
        if length <= gateway().config.buffer_body_bytes:
            # Bodies of ordinary API calls arrive in full before Django is asked: a client trickling one then
            # holds only its own connection to the gateway, never a Django worker thread. Larger ones (uploads)
            # stream, so they never sit whole in the gateway.
            return _buffer_body(body)
        return body
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        return _spool_chunked(request.stream, limit)
    return None


def _read_small_body() -> bytes:
    try:
        body = request.get_data(cache=False)
    except Exception as exc:
        raise ClientBodyError(str(exc)) from exc
    if len(body) != request.content_length:
        raise ClientBodyError("the body ended before its announced length")
    return body


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit`, counting only brackets outside strings. Linear, no
    recursion: it is what makes the real parser safe to call afterwards."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _revoked_token(body: bytes) -> str | None:
    """The `token` parameter of an RFC 7009 revocation request (form-encoded or JSON, as Django accepts both)."""
    if request.mimetype == "application/json":
        if json_depth_exceeds(body, MAX_JSON_DEPTH):
            raise UnparsableBody()
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, RecursionError) as exc:
            raise UnparsableBody() from exc
        token = payload.get("token") if isinstance(payload, dict) else None
        return token if isinstance(token, str) else None
    values = parse_qs(body.decode("latin-1"), keep_blank_values=False).get("token")
    return values[0] if values else None


@bp.route("/", defaults={"path": ""}, methods=METHODS)
@bp.route("/<path:path>", methods=METHODS)
def forward(path: str):
    gw = gateway()
    config = gw.config
    target = request_target(request)
    if target is None:
        return json_error(400, "Only origin-form request targets are accepted.")
    upstream_target = upstream_path(config, target)
    if request_line_too_long(request.method, upstream_target):
        return json_error(
            414, f"The request target is too long: at most {MAX_UPSTREAM_REQUEST_LINE} bytes of request line."
        )

    revoked_token = None
    limit_client_idle_time(config.client_timeout)
    try:
        small_revocation = request.path == REVOKE_PATH and (request.content_length or 0) <= REVOKE_BODY_MAX
        if request.method == "POST" and small_revocation:
            # Small by contract: read it so a revocation through the gateway evicts the cached introspection now.
            body = _read_small_body() if request.content_length else _request_body(config.max_body_bytes)
            if isinstance(body, bytes):
                revoked_token = _revoked_token(body)
        else:
            body = _request_body(config.max_body_bytes)
    except BodyTooLarge:
        return json_error(413, f"Request body too large: at most {config.max_body_bytes} bytes.")
    except ClientTooSlow:
        return json_error(408, "The request body arrived too slowly.")
    except ClientBodyError:
        return json_error(400, "The request body could not be read (malformed or cut short).")
    except UnparsableBody:
        return json_error(400, f"The JSON body is malformed or nested deeper than {MAX_JSON_DEPTH} levels.")

    headers = upstream_request_headers(request, request_id=g.request_id, trusted_proxies=config.trusted_proxies)
    if body is not None:
        headers["Content-Length"] = str(body.len if isinstance(body, UpstreamBody) else len(body))
    try:
        upstream = gw.upstream.request(
            request.method,
            upstream_target,
            headers,
            body,
            replayable=request.method in RETRYABLE_METHODS and not body,
            request_id=g.request_id,
        )
    except ClientTooSlow as exc:
        logger.info("Client too slow (request %s): %s", g.request_id, exc)
        return json_error(408, "The request body arrived too slowly.")
    except ClientBodyError as exc:
        logger.info("Client body unreadable (request %s): %s", g.request_id, exc)
        return json_error(400, "The request body could not be read (malformed or cut short).")
    except UpstreamTimeout:
        logger.warning("Upstream too slow for %s %s (request %s)", request.method, request.path, g.request_id)
        return json_error(504)
    except UpstreamError as exc:
        logger.warning("Upstream unreachable (request %s): %s", g.request_id, exc)
        return json_error(502)

    if revoked_token and upstream.status == 200:
        gw.validator.forget(revoked_token)

    response_headers = downstream_response_headers(upstream.headers)
    response = Response(relay(upstream, g.request_id), status=upstream.status, direct_passthrough=True)
    # Start from an empty header set: Flask's default Content-Type must not be invented for a 204 or a 304.
    response.headers.clear()
    for name, value in response_headers:
        response.headers.add(name, value)
    response.call_on_close(upstream.close)
    limit_client_idle_time(None)
    return response
