"""What the gateway tells the upstream about a request, and what it passes back: pure functions over headers."""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from flask import Request

# RFC 9110 §7.6.1 plus the legacy ones every proxy strips; a Connection header can name more.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the gateway itself from what it can verify; a client's own values are never passed through as-is.
GATEWAY_OWNED_REQUEST = frozenset(
    {"host", "content-length", "expect", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}
    | {"x-forwarded-port", "x-real-ip", "x-request-id"}
)
# The gateway's WSGI server writes its own.
GATEWAY_OWNED_RESPONSE = frozenset({"server", "date", "x-request-id"})
NOT_FORWARDED_REQUEST = HOP_BY_HOP | GATEWAY_OWNED_REQUEST
NOT_RETURNED_RESPONSE = HOP_BY_HOP | GATEWAY_OWNED_RESPONSE

REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=@-]{0,127}")
# Characters kept verbatim when re-encoding the request target: what RFC 3986 allows in a path and a query (unreserved,
# sub-delims, ":@/?") plus "%"; "[" and "]" (allowed only in a host) are escaped.
_TARGET_SAFE = "/?#@!$&'()*+,;=:-._~%"
# A "%" that does not start an escape is a literal percent sign: escaped, so Django decodes what the client meant.
_STRAY_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def request_id_for(request: Request) -> str:
    """The client's X-Request-ID when it is sane (short, printable, no separators that could forge log lines)."""
    candidate = request.headers.get("X-Request-ID", "")
    if REQUEST_ID_RE.fullmatch(candidate):
        return candidate
    # 32 random hex digits, the shape uuid4().hex had, at a fraction of its cost.
    return os.urandom(16).hex()


# Memoised: every request parses its peer's address (twice: for the limits and for the upstream's headers), and
# the same few addresses (a load balancer, a NAT, loopback) come back all the time; ipaddress is slow to parse.
@functools.lru_cache(maxsize=4096)
def _valid_ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def forwarded_chain(request: Request, trusted_proxies: int) -> list[str]:
    """The addresses we can vouch for: the entries our trusted proxies wrote, then the peer's address.

    With N trusted proxies in front of the gateway only the last N entries of the incoming header were written by
    them; anything to the left was written by the client and is dropped, so a spoofed header cannot choose the
    address that rate limits and Django see.
    """
    peer = _valid_ip(request.remote_addr or "") or "0.0.0.0"  # noqa: S104 (a placeholder, not a bind address)
    if trusted_proxies <= 0:
        return [peer]
    incoming = [item for item in request.headers.get("X-Forwarded-For", "").split(",") if item.strip()]
    trusted = incoming[-trusted_proxies:] if len(incoming) >= trusted_proxies else []
    cleaned = [ip for ip in (_valid_ip(item) for item in trusted) if ip]
    if len(cleaned) != len(trusted):
        return [peer]  # a proxy we trust would not write garbage: trust nothing from this header
    return [*cleaned, peer]


def client_ip(request: Request, trusted_proxies: int) -> str:
    """The address of the client as far as we can trust it: the leftmost entry of the trusted chain."""
    return forwarded_chain(request, trusted_proxies)[0]


def forwarded_proto_host(request: Request, trusted_proxies: int) -> tuple[str, str]:
    proto, host = request.scheme, request.host
    if trusted_proxies > 0:
        # Only the proxy directly in front of us writes these; its value is the last one.
        sent_proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        sent_host = request.headers.get("X-Forwarded-Host", "").split(",")[-1].strip()
        if sent_proto in ("http", "https"):
            proto = sent_proto
        if sent_host and re.fullmatch(r"[A-Za-z0-9.\-:\[\]]{1,255}", sent_host):
            host = sent_host
    return proto, host


def request_target(request: Request) -> str | None:
    """Path and query exactly as the client sent them (repeated keys, order and escapes kept), or None if the
    target is not an origin-form path. Only this part of the client's URL ever reaches the upstream URL."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        raw = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe=_TARGET_SAFE)
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    if not raw.startswith("/"):
        # Absolute-form (proxy-style) targets: keep the path and query, never the client's scheme and host.
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https"):
            return None
        raw = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    raw = raw.split("#", 1)[0]
    # WSGI hands us bytes as latin-1 text; escape anything outside ASCII so it reaches Django byte for byte.
    target = quote(raw.encode("latin-1"), safe=_TARGET_SAFE)
    return _STRAY_PERCENT_RE.sub("%25", target) if "%" in target else target


def connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(token.strip().lower() for token in value.split(",") if token.strip())
    return tokens


def upstream_request_headers(request: Request, *, request_id: str, trusted_proxies: int) -> dict[str, str]:
    # One pass over the client's headers (every request goes through here): what a Connection header names is
    # dropped afterwards, and rarely is there one.
    headers: dict[str, str] = {}
    named_by_connection = ""
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in NOT_FORWARDED_REQUEST:
            if lower == "connection":
                named_by_connection += f",{value}"
            continue
        # Repeated request headers (a WSGI server may keep them apart): HTTP allows folding them with commas.
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if named_by_connection:
        drop = connection_tokens([("Connection", named_by_connection)])
        headers = {name: value for name, value in headers.items() if name.lower() not in drop}
    proto, host = forwarded_proto_host(request, trusted_proxies)
    # Django builds absolute URLs (pagination links, redirects) from Host: keep the one the client used.
    client_host = request.environ.get("HTTP_HOST")
    if client_host:
        headers["Host"] = client_host
    # The chain is resolved here, once: Django gets only the client address, and believes it only from us
    # (Django's TRUSTED_PROXIES), however many proxies stand in front of the gateway.
    headers["X-Forwarded-For"] = headers["X-Real-IP"] = client_ip(request, trusted_proxies)
    headers["X-Forwarded-Proto"] = proto
    headers["X-Forwarded-Host"] = host
    headers["X-Request-ID"] = request_id
    return headers


def downstream_response_headers(raw_headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Upstream response headers minus hop-by-hop ones; repeated headers (Set-Cookie) stay separate lines."""
    items = list(raw_headers)
    drop = NOT_RETURNED_RESPONSE | connection_tokens(items)
    return [(name, value) for name, value in items if name.lower() not in drop]
