"""The one place that decides which address a request comes from.

Behind the gateway every TCP connection comes from the gateway, so the real client is in `X-Forwarded-For`. But
that header is just text a client can send too: it is believed only when the connection itself comes from a
trusted proxy (`TRUSTED_PROXIES`, CIDRs), and only for the hops those proxies appended. Throttles, login limits
(django-axes) and logs all key on `client_ip(request)`, so they agree on who a client is.
"""

import ipaddress
import logging
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# The address of the request this thread is serving, for log lines written by code that has no request at hand.
current_client_ip: ContextVar[str | None] = ContextVar("current_client_ip", default=None)
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 (a placeholder for a missing peer, not a bind address)


@lru_cache(maxsize=8)
def _trusted_networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _parse(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen through a dual-stack socket ("::ffff:192.0.2.1") is the IPv4 client: one bucket, not two.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def compute_client_ip(meta: dict) -> str:
    """The client address from WSGI `META`: the peer, or, when the peer is a trusted proxy, the hop before it.

    `X-Forwarded-For` is read right to left (each proxy appends the address it saw), skipping trusted proxies;
    the first untrusted address is the client. Anything further left was written by the client and is ignored.
    A malformed entry stops the walk: the last proxy we trust is then the best address we have.
    """
    return _client_ip(
        meta.get("REMOTE_ADDR") or "", meta.get("HTTP_X_FORWARDED_FOR", ""), tuple(settings.TRUSTED_PROXIES)
    )


# Parsing the addresses cost every request about 2% of GET /users/me/'s CPU (cProfile), for the same
# few (peer, header) pairs over and over: behind the gateway the peer is always the gateway. A pure function of
# its arguments, so caching changes no answer.
@lru_cache(maxsize=1024)  # bounded: the header is client text (8 KB at most, gunicorn)
def _client_ip(peer_text: str, forwarded_for: str, trusted: tuple[str, ...]) -> str:
    networks = _trusted_networks(trusted)

    def is_trusted(address: IPAddress) -> bool:
        return any(address in network for network in networks)

    peer = _parse(peer_text)
    if peer is None:
        return UNKNOWN_ADDRESS
    if not is_trusted(peer):
        return str(peer)
    # Several X-Forwarded-For headers arrive joined with commas in META: the same list either way.
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not is_trusted(address):
            break
    return str(client)


def client_ip(request) -> str:
    """The address set by `ClientAddressMiddleware`, computed here when a request skipped the middleware
    (e.g. DRF's request factory in tests)."""
    address = getattr(request, "client_ip", None)
    if address is None:
        address = compute_client_ip(request.META)
        # A DRF Request proxies reads to the Django request, but a write must land on the Django request itself.
        getattr(request, "_request", request).client_ip = address
    return address


class ClientAddressLogFilter(logging.Filter):
    """Adds `%(client)s` (" [203.0.113.9]", or "" outside a request) to every log record, so a log line of a
    request names the same client the throttles and login limits counted, not the gateway's address."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs 4xx/5xx after the middleware returned, but passes the request along.
        request = getattr(record, "request", None)
        address = getattr(request, "client_ip", None) if request is not None else None
        address = address or current_client_ip.get()
        record.client = f" [{address}]" if address else ""
        return True
