"""Rate limits on real Redis (and without it), introspection cache behaviour, configuration."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app import GatewayConfig, create_app
from app.config import ConfigError
from apps.users.tests.factories import UserFactory


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_anonymous_limit_429_with_headers(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url, limit_anon="3 per minute")
    before = recorder.count()
    for remaining in (2, 1, 0):
        response = requests.get(f"{gateway.url}/limited/")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == str(remaining)
        assert int(response.headers["X-RateLimit-Reset"]) > time.time()
        assert "Retry-After" not in response.headers  # only a throttled answer tells the client to wait

    throttled = requests.get(f"{gateway.url}/limited/")
    assert throttled.status_code == 429
    assert throttled.headers["Content-Type"] == "application/json"
    assert throttled.json()["detail"].startswith("Request was throttled")
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    assert throttled.headers["X-RateLimit-Remaining"] == "0"
    assert throttled.headers["X-RateLimit-Limit"] == "3"
    assert recorder.count() == before + 3, "the throttled request reached the upstream"


def test_spoofed_forwarded_for_does_not_buy_a_new_bucket(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url, limit_anon="2 per minute")
    statuses = [
        requests.get(f"{gateway.url}/spoof/", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_trusted_proxy_client_addresses_get_their_own_buckets(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url, limit_anon="1 per minute", trusted_proxies=1)
    first = requests.get(f"{gateway.url}/via-proxy/", headers={"X-Forwarded-For": "203.0.113.1"})
    second = requests.get(f"{gateway.url}/via-proxy/", headers={"X-Forwarded-For": "203.0.113.2"})
    again = requests.get(f"{gateway.url}/via-proxy/", headers={"X-Forwarded-For": "203.0.113.1"})
    assert [first.status_code, second.status_code, again.status_code] == [200, 200, 429]


def test_token_bucket_is_separate_from_the_anonymous_one(start_gateway, recorder, live_server, token_for):
    gateway = start_gateway(
        upstream_url=recorder.url,
        introspection_url=f"{live_server.url}/o/introspect/",
        limit_token="2 per minute",
        limit_anon="1 per minute",
    )
    auth = {"Authorization": f"Bearer {token_for(UserFactory())}"}
    other = {"Authorization": f"Bearer {token_for(UserFactory())}"}
    assert requests.get(f"{gateway.url}/t/").status_code == 200  # anonymous bucket used up
    assert [requests.get(f"{gateway.url}/t/", headers=auth).status_code for _ in range(3)] == [200, 200, 429]
    assert requests.get(f"{gateway.url}/t/", headers=other).status_code == 200  # per token, not per IP


def test_signup_and_login_limits_are_stricter_and_per_path(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url, limit_signup="2 per 30 minutes", limit_login="1 per 5 minutes")
    signups = [requests.post(f"{gateway.url}/users/create/", json={}).status_code for _ in range(3)]
    assert signups == [200, 200, 429]
    assert requests.get(f"{gateway.url}/users/create/").status_code == 200  # only POST counts as a sign-up
    assert requests.post(f"{gateway.url}/posts/", json={}).status_code == 200

    assert requests.post(f"{gateway.url}/o/token/", data={}).status_code == 200
    assert requests.post(f"{gateway.url}/accounts/login/", data={}).status_code == 429  # shared login bucket
    assert requests.get(f"{gateway.url}/accounts/login/").status_code == 200


def test_counters_are_shared_between_gateway_processes_through_redis(start_gateway, recorder):
    prefix = "gwtest-shared-" + str(time.time_ns())
    first = start_gateway(upstream_url=recorder.url, limit_anon="2 per minute", ratelimit_key_prefix=prefix)
    second = start_gateway(upstream_url=recorder.url, limit_anon="2 per minute", ratelimit_key_prefix=prefix)
    assert requests.get(f"{first.url}/shared/").status_code == 200
    assert requests.get(f"{second.url}/shared/").status_code == 200
    assert requests.get(f"{first.url}/shared/").status_code == 429
    assert requests.get(f"{second.url}/shared/").status_code == 429


def test_invalid_tokens_are_limited_per_ip_before_introspection(start_gateway, recorder, live_server, oauth_clients):
    gateway = start_gateway(
        upstream_url=recorder.url, introspection_url=f"{live_server.url}/o/introspect/", limit_bad_token="2 per minute"
    )
    responses = [requests.get(f"{gateway.url}/x/", headers={"Authorization": f"Bearer random-{i}"}) for i in range(3)]
    assert [r.status_code for r in responses] == [401, 401, 429]
    assert 0 < int(responses[2].headers["Retry-After"]) <= 60


def test_redis_down_falls_back_to_per_process_limits_and_cache(start_gateway, recorder, live_server, token_for):
    """Decision: without Redis each gateway process limits and caches on its own. Nothing answers 500."""
    gateway = start_gateway(
        upstream_url=recorder.url,
        introspection_url=f"{live_server.url}/o/introspect/",
        redis_url=f"redis://127.0.0.1:{_closed_port()}/0",
        limit_anon="2 per minute",
    )
    assert [requests.get(f"{gateway.url}/no-redis/").status_code for _ in range(3)] == [200, 200, 429]

    token = token_for(UserFactory())
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{gateway.url}/no-redis/", headers=auth).status_code == 200
    assert requests.get(f"{gateway.url}/no-redis/", headers={"Authorization": "Bearer nope"}).status_code == 401
    # Redis does not decide readiness: reported as down, the gateway still answers 200.
    ready = requests.get(f"{gateway.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["redis"] == "down"
    assert gateway.app.extensions["gateway"].cache.backend == "memory (redis down)"


def _redis_counts(prefix: str) -> list[int]:
    import os

    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return [int(client.get(key)) for key in client.scan_iter(f"*{prefix}*")]


def test_a_leased_block_is_spent_locally_with_exact_headers(start_gateway, recorder):
    """Lease 5, 30 per minute: blocks of 5 are reserved while more than 4 blocks (20) are left, then hits are
    counted one by one; one process sees exact X-RateLimit-Remaining and its 429 at exactly the limit."""
    prefix = "gwtest-lease-" + str(time.time_ns())
    gateway = start_gateway(
        upstream_url=recorder.url, limit_anon="30 per minute", ratelimit_key_prefix=prefix, ratelimit_lease=5
    )
    first = requests.get(f"{gateway.url}/lease/")
    assert first.headers["X-RateLimit-Remaining"] == "29"
    assert _redis_counts(prefix) == [5], "the first request did not reserve a block"
    answers = [requests.get(f"{gateway.url}/lease/") for _ in range(30)]
    assert [a.status_code for a in answers] == [200] * 29 + [429]
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers[:29]] == list(range(28, -1, -1))
    assert _redis_counts(prefix) == [31], "hits past the headroom were not counted one by one"


def test_leases_never_admit_more_than_the_limit_across_processes(start_gateway, recorder):
    """Two processes sharing the counter: the one holding an unspent block still spends it after the other is
    refused (a 429 up to (processes - 1) x (lease - 1) early, as documented), and no more than the limit pass."""
    prefix = "gwtest-lease2-" + str(time.time_ns())
    first, second = (
        start_gateway(
            upstream_url=recorder.url, limit_anon="30 per minute", ratelimit_key_prefix=prefix, ratelimit_lease=5
        )
        for _ in range(2)
    )
    assert requests.get(f"{first.url}/lease/").status_code == 200  # reserves slots 1-5, spends 1
    from_second = [requests.get(f"{second.url}/lease/").status_code for _ in range(27)]
    assert from_second == [200] * 25 + [429] * 2  # slots 6-30: refused while `first` holds 2-5
    from_first = [requests.get(f"{first.url}/lease/").status_code for _ in range(6)]
    assert from_first == [200] * 4 + [429] * 2
    assert sum(status == 200 for status in [200, *from_second, *from_first]) == 30


def test_embedded_mode_without_redis_url(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url, redis_url="", limit_anon="1 per minute")
    assert requests.get(f"{gateway.url}/embedded/").status_code == 200
    assert requests.get(f"{gateway.url}/embedded/").status_code == 429
    assert requests.get(f"{gateway.url}/readyz").json()["redis"] == "not configured"


def test_introspection_cache_ttl_never_passes_exp(django_gateway, live_server, token_for):
    validator = django_gateway.app.extensions["gateway"].validator
    assert validator.cache_ttl({"active": True, "exp": int(time.time()) + 5}) <= 5
    assert validator.cache_ttl({"active": True, "exp": int(time.time()) + 3600}) == 30
    assert validator.cache_ttl({"active": False}) == 30

    # A real token that expires in 3 s is cached at most until then, then refused.
    token = token_for(UserFactory(), expires_in=3)
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{django_gateway.url}/users/me/", headers=auth).status_code == 200
    time.sleep(3.2)
    response = requests.get(f"{django_gateway.url}/users/me/", headers=auth)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_introspection_failure_is_502_not_500(start_gateway, recorder):
    # The introspection endpoint points at nothing: the gateway cannot vouch for the token and says so.
    gateway = start_gateway(upstream_url=recorder.url, introspection_url=f"http://127.0.0.1:{_closed_port()}")
    response = requests.get(f"{gateway.url}/x/", headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 502
    assert "could not be verified" in response.json()["detail"]


def test_slow_introspection_is_504(start_gateway, recorder):
    # Django accepts the connection but does not answer in time (saturated): too slow, not unreachable.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted: the connection completes in the backlog and no byte ever comes back
        gateway = start_gateway(
            upstream_url=recorder.url,
            introspection_url=f"http://127.0.0.1:{silent.getsockname()[1]}/o/introspect/",
            introspection_timeout=0.5,
        )
        response = requests.get(f"{gateway.url}/x/", headers={"Authorization": "Bearer slow-token"})
    assert response.status_code == 504
    assert "took too long" in response.json()["detail"]


def test_wrong_gateway_secret_is_502_and_logged(start_gateway, recorder, live_server, oauth_clients, caplog):
    gateway = start_gateway(
        upstream_url=recorder.url, introspection_url=f"{live_server.url}/o/introspect/", client_secret="wrong"
    )
    response = requests.get(f"{gateway.url}/x/", headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 502
    assert any("is the gateway client" in record.getMessage() for record in caplog.records)


def test_config_from_env_defaults():
    config = GatewayConfig.from_env({})
    assert config.upstream_url == "http://127.0.0.1:8000"
    assert config.introspection_url == "http://127.0.0.1:8000/o/introspect/"
    assert config.max_body_bytes == 16 * 1024 * 1024
    assert config.limit_token == config.limit_anon == "300 per 5 minutes"
    assert config.limit_signup == "5 per 30 minutes"
    assert config.limit_login == "25 per 5 minutes"
    assert config.introspection_cache_seconds == 30
    assert config.redis_url == ""
    assert config.ratelimit_lease == 10


def test_config_from_env_values():
    config = GatewayConfig.from_env(
        {
            "GATEWAY_UPSTREAM_URL": "http://api:8000/",
            "GATEWAY_READ_TIMEOUT": "12.5",
            "GATEWAY_TRUSTED_PROXIES": "2",
            "GATEWAY_CORS_ORIGINS": "https://a.example, https://b.example",
            "GATEWAY_INTROSPECTION_CACHE_SECONDS": "10",
            "REDIS_URL": "redis://redis:6379/0",
        }
    )
    assert config.upstream_url == "http://api:8000"
    assert config.read_timeout == 12.5
    assert config.trusted_proxies == 2
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.introspection_cache_seconds == 10


@pytest.mark.parametrize(
    "env",
    [
        {"GATEWAY_INTROSPECTION_CACHE_SECONDS": "31"},
        {"GATEWAY_UPSTREAM_URL": "ftp://api"},
        {"GATEWAY_UPSTREAM_URL": "http://api:8000/?x=1"},
        {"GATEWAY_MAX_BODY_BYTES": "lots"},
        {"GATEWAY_READ_TIMEOUT": "-1"},
        {"GATEWAY_CORS_ORIGINS": "https://a.example/path"},
        {"GATEWAY_RATELIMIT_LEASE": "0"},
    ],
)
def test_config_rejects_bad_values(env):
    with pytest.raises(ConfigError):
        GatewayConfig.from_env(env)


def test_bad_rate_limit_string_refused_at_start():
    with pytest.raises(ConfigError):
        create_app(GatewayConfig(limit_anon="often"))


def test_concurrent_misses_for_one_token_introspect_once(start_gateway, recorder):
    """Single flight: the recorder plays a slow introspection endpoint and counts how often it is asked."""
    gateway = start_gateway(upstream_url=recorder.url, introspection_url=f"{recorder.url}/o/introspect/")
    before = recorder.count("/o/introspect/")
    auth = {"Authorization": "Bearer popular-token"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: requests.get(f"{gateway.url}/hot/", headers=auth).status_code, range(6)))
    assert statuses == [200] * 6
    assert recorder.count("/o/introspect/") == before + 1


def test_cached_answer_never_outlives_the_token(start_gateway, recorder):
    recorder.introspection.update(exp_in=2, delay=0)
    try:
        gateway = start_gateway(upstream_url=recorder.url, introspection_url=f"{recorder.url}/o/introspect/")
        auth = {"Authorization": "Bearer short-lived"}
        before = recorder.count("/o/introspect/")
        assert requests.get(f"{gateway.url}/short/", headers=auth).status_code == 200
        assert requests.get(f"{gateway.url}/short/", headers=auth).status_code == 200
        assert recorder.count("/o/introspect/") == before + 1  # the second one was answered from the cache
        time.sleep(2.5)
        requests.get(f"{gateway.url}/short/", headers=auth)
        assert recorder.count("/o/introspect/") == before + 2, "the cache kept an answer past the token's exp"
    finally:
        recorder.introspection.update(exp_in=3600, delay=0.3)


def test_gateway_client_secret_is_checked_without_a_slow_hash(oauth_clients):
    from oauth2_provider.models import get_application_model

    client = get_application_model().objects.get(client_id="socialnet-gateway")
    assert client.hash_client_secret is False


def test_admin_login_shares_the_login_limit(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url, limit_login="3 per 5 minutes")
    answers = [requests.post(f"{gateway.url}/admin/login/", data={}).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    # One bucket for every password form: the admin's guesses count against the others too.
    assert requests.post(f"{gateway.url}/accounts/login/", data={}).status_code == 429
    assert requests.get(f"{gateway.url}/admin/login/").status_code == 200
