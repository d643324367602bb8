"""Who a client is: X-Forwarded-For believed only from trusted proxies (issue 18, shared throttle buckets)."""

import http.client
from urllib.parse import urlparse

import pytest
from django.test import Client, override_settings

from apps.common.client_address import compute_client_ip
from apps.common.throttling import FailOpenRequestRateThrottle

GATEWAY = "127.0.0.1"  # the default TRUSTED_PROXIES: loopback, where `make run` puts the gateway


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("198.51.100.7", "", "198.51.100.7"),
        # Straight to Django from an untrusted address: whatever the header says is ignored.
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        ("127.0.0.2", "203.0.113.9", "127.0.0.2"),
        # From the gateway: the hop it appended is the client.
        (GATEWAY, "203.0.113.9", "203.0.113.9"),
        # A client that sends its own X-Forwarded-For through the gateway only fools the hops left of the real one.
        (GATEWAY, "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # Trusted hops are skipped from the right.
        (GATEWAY, "203.0.113.9, 127.0.0.1", "203.0.113.9"),
        # Garbage stops the walk at the last address we trust.
        (GATEWAY, "not-an-ip", GATEWAY),
        (GATEWAY, "203.0.113.9, bogus", GATEWAY),
        ("::ffff:198.51.100.7", "", "198.51.100.7"),
        ("::1", "2001:db8::1", "2001:db8::1"),
        ("", "203.0.113.9", "0.0.0.0"),
    ],
)
def test_client_address_rules(remote, forwarded, expected):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert compute_client_ip(meta) == expected


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_trusted_proxies_is_a_setting():
    assert compute_client_ip({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}) == "203.0.113.9"
    assert compute_client_ip({"REMOTE_ADDR": GATEWAY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}) == GATEWAY


@pytest.fixture
def anon_rate_3(monkeypatch):
    """Three anonymous requests per minute: the test settings otherwise make throttling unreachable."""
    monkeypatch.setattr(FailOpenRequestRateThrottle, "THROTTLE_RATES", {"anon": "3/min"})


def statuses(client: Client, n: int, **meta) -> list[int]:
    return [client.get("/posts/", **meta).status_code for _ in range(n)]


@pytest.mark.django_db
def test_clients_behind_the_gateway_do_not_share_a_bucket(anon_rate_3):
    client = Client()
    first = {"REMOTE_ADDR": GATEWAY, "HTTP_X_FORWARDED_FOR": "203.0.113.1"}
    second = {"REMOTE_ADDR": GATEWAY, "HTTP_X_FORWARDED_FOR": "203.0.113.2"}
    assert statuses(client, 4, **first) == [200, 200, 200, 429]
    assert statuses(client, 3, **second) == [200, 200, 200]
    # Another loopback address straight to Django is yet another client.
    assert statuses(client, 3, REMOTE_ADDR="127.0.0.2") == [200, 200, 200]


@pytest.mark.django_db
def test_spoofed_forwarded_for_straight_to_django_changes_nothing(anon_rate_3):
    client = Client()
    spoofed = [
        client.get("/posts/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(5)
    ]
    assert spoofed == [200, 200, 200, 429, 429]


def raw_get(base_url: str, source: str, headers: dict | None = None) -> int:
    """One real HTTP request whose TCP connection starts from `source` (any 127/8 address works on loopback)."""
    url = urlparse(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", "/posts/", headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_loopback_addresses_over_real_http(live_server, anon_rate_3):
    base = live_server.url.replace("localhost", "127.0.0.1")
    # 127.0.0.2 is not a trusted proxy: a fresh X-Forwarded-For on every request must not buy a fresh bucket.
    from_two = [raw_get(base, "127.0.0.2", {"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(4)]
    assert from_two == [200, 200, 200, 429]
    assert [raw_get(base, "127.0.0.3") for _ in range(3)] == [200, 200, 200]


@pytest.mark.django_db
def test_log_lines_name_the_client_not_the_gateway():
    import logging

    from apps.common.client_address import ClientAddressLogFilter

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(ClientAddressLogFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        Client().get("/users/nobody-here/", REMOTE_ADDR=GATEWAY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    finally:
        logger.removeHandler(handler)
    assert [record.client for record in records] == [" [203.0.113.9]"]
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "no request", None, None)
    ClientAddressLogFilter().filter(outside)
    assert outside.client == ""
