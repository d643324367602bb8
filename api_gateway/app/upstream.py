"""Talking to the upstream: one request sent on the pooled connections, its answer relayed as it arrives. Shared by
the Flask proxy route (app/routes/proxy.py) and the fast path (app/fastpath.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import urllib3
from urllib3.exceptions import HTTPError, ProtocolError

from .extensions import Gateway

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# The longest request line Django's server accepts (limit_request_line in api/socialnet/gunicorn.conf.py, gunicorn's
# maximum; tests/test_deployment_config.py keeps them equal). The gateway's own server stops longer lines, but the
# target is re-encoded on the way ("|" becomes "%7C"), so a line it accepted can grow past Django's limit: refused
# in JSON rather than by Django's server with an HTML page.
MAX_UPSTREAM_REQUEST_LINE = 8190
# Safe to send twice (RFC 9110 §9.2.2) and, without a body, cheap to replay: the only requests the gateway retries
# when a pooled keep-alive connection turns out to have been closed by the upstream in the meantime.
RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_line_too_long(method: str, target: str) -> bool:
    return len(method) + len(target) + len(" HTTP/1.1") + 1 > MAX_UPSTREAM_REQUEST_LINE


def send(
    gw: Gateway,
    method: str,
    path: str,
    headers: dict[str, str],
    body,
    *,
    replayable: bool,
    request_id: str,
) -> urllib3.BaseHTTPResponse:
    """The upstream's answer, headers read, body not yet (relay() streams it). Raises urllib3's errors."""
    config = gw.config
    options = {
        "body": body,
        "headers": headers,
        "retries": False,
        "redirect": False,
        "preload_content": False,
        "decode_content": False,
        "timeout": urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout),
    }
    try:
        return gw.upstream.urlopen(method, path, **options)
    except ProtocolError as exc:
        # The upstream closed a pooled keep-alive connection just as we reused it: the request went into a dead
        # socket and no answer came (a refused or timed-out connect is another error: the upstream is down).
        if not replayable:
            raise
        # Once only, and only for bodiless safe methods: a POST is never sent twice, and a read timeout (a slow
        # upstream, not a dead connection) is not retried either, so a 504 never takes twice as long.
        logger.info("Upstream closed a kept-alive connection, retrying once (request %s): %s", request_id, exc)
        return gw.upstream.urlopen(method, path, **options)


def relay(upstream: urllib3.BaseHTTPResponse, request_id: str) -> Iterator[bytes]:
    try:
        # decode_content=False: compressed bodies go through untouched, matching the upstream's headers.
        yield from upstream.stream(CHUNK, decode_content=False)
    except (HTTPError, OSError) as exc:
        # Headers are already sent; all we can do is cut the connection so the client sees a truncated body.
        logger.warning("Upstream response broke off after the headers (request %s): %s", request_id, exc)
        raise
