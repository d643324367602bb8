"""Django's own throttles (apps.common.throttling): one Redis call per request or per lease, a sliding window,
failing open."""

import pytest
from django.test import override_settings
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from apps.common import throttling
from apps.common.redis import redis_client
from apps.common.throttling import FailOpenRequestRateThrottle, FailOpenScopedRateThrottle

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
    # Unspent hits of an earlier test's blocks live in this process, not in the Redis the cache fixture empties.
    monkeypatch.setattr(throttling, "_leases", {})
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


def counted_in_redis(key: str, at: float) -> int:
    """What the Redis counter of `key` holds for the minute window containing `at`."""
    return int(redis_client().get(f"{{{key}}}:{int(at // 60)}") or 0)


def leased_client(monkeypatch, client_for, user, *, user_rate: str):
    """A signed-in client under the `user` rate, and its throttle's Redis key."""
    monkeypatch.setattr(FailOpenRequestRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": user_rate})
    return client_for(user), f"throttle_user_{user.pk}"


@override_settings(THROTTLE_LEASE=10)
def test_a_busy_client_costs_one_redis_call_per_lease(monkeypatch, clock, client_for, user):
    client, key = leased_client(monkeypatch, client_for, user, user_rate="1000/min")
    assert statuses(client, 1) == [200]
    assert counted_in_redis(key, clock.now) == 10  # a block of ten counted, one spent
    assert statuses(client, 9) == [200] * 9
    assert counted_in_redis(key, clock.now) == 10  # the other nine spent locally
    assert statuses(client, 1) == [200]
    assert counted_in_redis(key, clock.now) == 20


@override_settings(THROTTLE_LEASE=10)
def test_leased_hits_never_admit_more_than_the_limit(monkeypatch, clock, client_for, user):
    client, key = leased_client(monkeypatch, client_for, user, user_rate="100/min")
    assert statuses(client, 1) == [200]  # this process holds nine more hits
    redis_client().incrby(f"{{{key}}}:{int(clock.now // 60)}", 85)  # other processes' hits: 95 counted
    # The nine held hits were counted before the others': spent. Then the last five one by one in Redis, no block.
    assert statuses(client, 16) == [200] * 14 + [429] * 2
    assert counted_in_redis(key, clock.now) == 100
    refused = client.get("/posts/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


@override_settings(THROTTLE_LEASE=10)
def test_a_block_dies_with_its_window(monkeypatch, clock, client_for, user):
    client, key = leased_client(monkeypatch, client_for, user, user_rate="1000/min")
    assert statuses(client, 1) == [200]
    clock.now = WINDOW_START + 60  # nine unspent hits of the last window: not spent in this one
    assert statuses(client, 1) == [200]
    assert counted_in_redis(key, clock.now) == 10


class ScopedView(APIView):
    permission_classes = ()
    throttle_classes = (FailOpenScopedRateThrottle,)
    throttle_scope = "guarded"

    def get(self, request):
        return Response({})


@override_settings(THROTTLE_LEASE=10)
def test_scoped_throttles_count_every_hit_in_redis(monkeypatch, clock):
    # Sign-up, password reset and the like guard accounts and addresses: every process must see every hit at once.
    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"guarded": "1000/min"})
    view = ScopedView.as_view()
    for expected in (1, 2, 3):
        assert view(APIRequestFactory().get("/guarded/", REMOTE_ADDR="198.51.100.7")).status_code == 200
        assert counted_in_redis("throttle_guarded_198.51.100.7", clock.now) == expected
