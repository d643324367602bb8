"""Django's own throttles (apps.common.throttling): one Redis call per request, a sliding window, failing open."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from apps.common import throttling
from apps.common.throttling import FailOpenRequestRateThrottle

pytestmark = pytest.mark.django_db
WINDOW_START = 1_800_000_000.0  # a multiple of 60: minute windows start here


class Clock:
    def __init__(self):
        self.now = WINDOW_START

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(throttling, "time", clock)
    return clock


@pytest.fixture
def rates(monkeypatch):
    monkeypatch.setattr(FailOpenRequestRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "3/min"})


def statuses(client, n: int, path: str = "/posts/", **meta) -> list[int]:
    return [client.get(path, **meta).status_code for _ in range(n)]


def test_anonymous_clients_get_the_anon_rate_per_address(rates, clock):
    client = APIClient()
    assert statuses(client, 3, REMOTE_ADDR="198.51.100.1") == [200, 200, 429]
    assert statuses(client, 2, REMOTE_ADDR="198.51.100.2") == [200, 200]


def test_token_holders_get_the_user_rate_per_account_from_any_address(rates, clock, client_for, user):
    client = client_for(user)  # the shared fixtures: common's tests import no domain app
    got = [client.get("/posts/", REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(4)]
    assert got == [200, 200, 200, 429]


def test_the_window_slides_and_retry_after_says_when(rates, clock):
    client = APIClient()
    clock.now = WINDOW_START + 50
    assert statuses(client, 2) == [200, 200]
    refused = client.get("/posts/")
    # Two counted 50 s into the window: one more fits once this window weighs 1/2, 30 s into the next one.
    assert refused.status_code == 429 and refused["Retry-After"] == "40"
    clock.now = WINDOW_START + 60 + 10  # a fixed window would start afresh here; the last minute still holds 2
    assert statuses(client, 1) == [429]
    clock.now = WINDOW_START + 60 + 31  # the previous window now weighs less than 1/2
    assert statuses(client, 2) == [200, 429]


def test_refused_requests_are_not_counted(rates, clock):
    client = APIClient()
    assert statuses(client, 5) == [200, 200, 429, 429, 429]
    clock.now = WINDOW_START + 120  # two windows later the refusals left nothing behind
    assert statuses(client, 3) == [200, 200, 429]


def test_requests_pass_when_redis_is_down(rates, client_for, user, caplog):
    client = client_for(user)
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0", REDIS_SOCKET_TIMEOUT=0.2):
        assert statuses(client, 5, "/users/me/") == [200] * 5
    assert "throttle FailOpenRequestRateThrottle skipped" in caplog.text


def test_seconds_until_allowed():
    # Nothing before: this window's count must age into the previous one until one more request fits.
    assert throttling._seconds_until_allowed(limit=2, window=60, elapsed=0.5, current=2, previous=0) == 60
    # The previous window's weight shrinking within this window is enough.
    assert throttling._seconds_until_allowed(limit=4, window=60, elapsed=0.0, current=0, previous=6) == 30
