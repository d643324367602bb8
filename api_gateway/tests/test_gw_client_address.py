"""Django behind the real gateway tells clients apart (issue 18: every client was 127.0.0.1 to Django, so one
client's throttled requests throttled everyone)."""

import http.client
from urllib.parse import urlparse

import pytest

from apps.common.throttling import FailOpenRequestRateThrottle


def get_from(base_url: str, source: str, path: str = "/posts/", headers: dict | None = None) -> int:
    """One request whose TCP connection starts at `source` (any 127/8 address works on loopback)."""
    url = urlparse(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture
def django_anon_rate_3(monkeypatch):
    # Django's own anonymous throttle, tightened (the live server runs in this process); the gateway's stays loose.
    monkeypatch.setattr(FailOpenRequestRateThrottle, "THROTTLE_RATES", {"anon": "3/min"})


def test_django_throttles_each_client_behind_the_gateway_separately(
    django_gateway, transactional_db, django_anon_rate_3
):
    gw = django_gateway.url
    # Whatever a client claims in its own X-Forwarded-For, the gateway forwards the address it saw.
    first = [get_from(gw, "127.0.0.2", headers={"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(4)]
    assert first == [200, 200, 200, 429]
    assert [get_from(gw, "127.0.0.3") for _ in range(3)] == [200, 200, 200]
