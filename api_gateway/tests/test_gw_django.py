"""The gateway in front of the real Django server: OAuth flow, uploads, revocation, errors, health."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.common.security import generate_token

from apps.common.testing.celery_worker import wait_until
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.oauth_browser import pkce_session

REDIRECT_URI = "http://127.0.0.1:8765/callback"
ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # gunicorn is installed next to the interpreter running the tests
DJANGO_DIR = ROOT / "api" / "socialnet"


class _FirstForm(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.state = "before"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.state == "before":
            self.state = "in"
        elif tag == "input" and self.state == "in" and attrs.get("name") and attrs.get("type") != "submit":
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self.state == "in":
            self.state = "after"


def first_form(html: str) -> dict[str, str]:
    parser = _FirstForm()
    parser.feed(html)
    return parser.fields


def test_pkce_flow_through_the_gateway(django_gateway, oauth_clients, live_server):
    gw = django_gateway.url
    user = UserFactory(username="gw-pkce")
    client = pkce_session(REDIRECT_URI)
    verifier = generate_token(64)
    authorize_url, state = client.create_authorization_url(f"{gw}/o/authorize/", code_verifier=verifier)

    browser = requests.Session()
    # Not logged in: Django's 302 to the login page comes back as it is, not followed by the gateway.
    response = browser.get(authorize_url, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/?next=/o/authorize/")

    login_page = browser.get(gw + response.headers["Location"])
    assert login_page.status_code == 200
    assert "csrftoken" in browser.cookies, "the CSRF cookie crossed the gateway"
    fields = {**first_form(login_page.text), "username": user.username, "password": TEST_PASSWORD}
    response = browser.post(login_page.url, data=fields, allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    cookies = response.raw.headers.getlist("Set-Cookie")
    assert any(c.startswith("sessionid=") for c in cookies) and any(c.startswith("csrftoken=") for c in cookies)
    assert urlparse(response.headers["Location"]).path == "/o/authorize/"

    consent = browser.get(gw + response.headers["Location"])
    assert consent.status_code == 200
    fields = {**first_form(consent.text), "allow": "Authorize"}
    response = browser.post(consent.url, data=fields, allow_redirects=False)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    query = parse_qs(urlparse(location).query)
    assert query["state"] == [state]
    # The issuer is computed from the Host the client used: the gateway forwarded it unchanged.
    assert query["iss"][0].startswith(gw)

    token = client.fetch_token(f"{gw}/o/token/", authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer"
    me = client.get(f"{gw}/users/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "gw-pkce"
    assert re.fullmatch(r"[0-9a-f]{32}", me.headers["X-Request-ID"])


def test_revocation_through_the_gateway_is_immediate(django_gateway, token_for):
    user = UserFactory()
    token = token_for(user)
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{django_gateway.url}/users/me/", headers=auth).status_code == 200  # now cached

    revoked = requests.post(
        f"{django_gateway.url}/o/revoke_token/", data={"token": token, "client_id": "socialnet-demo"}
    )
    assert revoked.status_code == 200

    after = requests.get(f"{django_gateway.url}/users/me/", headers=auth)
    assert after.status_code == 401
    # The gateway's own refusal (Django's carries no error code): the cache entry was evicted, not waited out.
    assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]
    assert after.json() == {"detail": "Invalid, expired or revoked access token."}


def test_multipart_upload_of_15_mb_reaches_django(django_gateway, oauth_clients, django_user_model):
    payload = b"\xff\xd8" + b"\x00" * (15 * 1024 * 1024 - 2)
    response = requests.post(
        f"{django_gateway.url}/users/create/",
        data={"username": "uploader", "email": "uploader@example.com", "password": "plum-tangerine-87"},
        files={"attachment": ("big.bin", payload, "application/octet-stream")},
        timeout=60,
    )
    assert response.status_code == 201, response.text[:300]
    assert response.json()["username"] == "uploader"
    assert django_user_model.objects.filter(username="uploader").exists()


def test_anonymous_requests_pass_and_django_decides(django_gateway, oauth_clients):
    user = UserFactory(username="public-person")
    profile = requests.get(f"{django_gateway.url}/users/{user.username}/")
    assert profile.status_code == 200
    assert "email" not in profile.json()
    me = requests.get(f"{django_gateway.url}/users/me/")
    assert me.status_code == 401  # Django's answer: the gateway lets tokenless requests through
    assert me.headers["WWW-Authenticate"].startswith("Bearer")


def test_invalid_token_refused_at_the_edge(django_gateway, oauth_clients):
    response = requests.get(f"{django_gateway.url}/users/me/", headers={"Authorization": "Bearer not-a-real-token"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
def test_unsupported_methods_are_json_405(django_gateway, method):
    response = requests.request(method, f"{django_gateway.url}/users/me/")
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Method not allowed."}
    assert "Traceback" not in response.text


def test_django_404_is_passed_through_as_json(django_gateway, db):
    response = requests.get(f"{django_gateway.url}/no/such/path/")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert "Traceback" not in response.text


def test_gateway_own_paths(django_gateway, db):
    assert requests.get(f"{django_gateway.url}/healthz").json() == {"status": "ok"}
    ready = requests.get(f"{django_gateway.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["upstream"] == "ok"
    assert ready.json()["redis"] == "ok"
    wrong = requests.post(f"{django_gateway.url}/healthz")
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method not allowed."}


def test_revocation_through_one_gateway_reaches_the_others_within_their_local_cache(
    start_gateway, live_server, token_for
):
    prefix = f"gwtest-pair-{time.time_ns()}"
    first = start_gateway(upstream_url=live_server.url, ratelimit_key_prefix=prefix, local_cache_seconds=1)
    second = start_gateway(upstream_url=live_server.url, ratelimit_key_prefix=prefix, local_cache_seconds=1)
    token = token_for(UserFactory())
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{first.url}/users/me/", headers=auth).status_code == 200
    assert requests.get(f"{second.url}/users/me/", headers=auth).status_code == 200  # both hold it locally now

    revoke = requests.post(f"{first.url}/o/revoke_token/", data={"token": token, "client_id": "socialnet-demo"})
    assert revoke.status_code == 200
    assert requests.get(f"{first.url}/users/me/", headers=auth).status_code == 401
    revoked_at = time.monotonic()
    while True:
        sent_at = time.monotonic()
        response = requests.get(f"{second.url}/users/me/", headers=auth)
        if response.status_code != 200:
            break
        assert sent_at - revoked_at < 1.5, "the other gateway kept its copy past GATEWAY_LOCAL_CACHE_SECONDS"
        time.sleep(0.1)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.fixture
def django_process(token_for):
    """Django under gunicorn in its own process, on the test database, so a test can stop it for real."""
    from django.db import connection

    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "config.wsgi:application", f"--bind=127.0.0.1:{port}", "--workers=1",
         "--worker-class=gthread", "--threads=2", "--log-level=warning"],
        cwd=DJANGO_DIR, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(f"{url}/health/"), timeout=30, message="gunicorn serving Django")
    yield process, url
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_django_stopped_gives_502_and_readyz_503(django_process, start_gateway, token_for):
    process, django_url = django_process
    gateway = start_gateway(upstream_url=django_url, connect_timeout=1.0)
    auth = {"Authorization": f"Bearer {token_for(UserFactory())}"}
    assert requests.get(f"{gateway.url}/users/me/", headers=auth).status_code == 200
    assert requests.get(f"{gateway.url}/readyz").status_code == 200

    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)

    anonymous = requests.get(f"{gateway.url}/users/someone/")
    assert anonymous.status_code == 502
    assert anonymous.json() == {"detail": "The API is unreachable."}
    # The token is still in the gateway's cache: the request goes as far as the dead upstream and says so.
    assert requests.get(f"{gateway.url}/users/me/", headers=auth).status_code == 502
    ready = requests.get(f"{gateway.url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["upstream"] == "unreachable"
