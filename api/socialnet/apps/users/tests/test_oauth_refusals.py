"""What the OAuth2 server must refuse (RFC 7636, RFC 9700), checked in-process."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client

from apps.users.oauth_clients import demo_client_ensure
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.oauth import issue_access_token

pytestmark = pytest.mark.django_db
REDIRECT_URI = "http://127.0.0.1:8765/callback"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def browser(user):
    demo_client_ensure()
    client = Client()
    client.force_login(user)
    return client


def authorize_params(verifier: str | None = None, **overrides) -> dict:
    params = {
        "response_type": "code",
        "client_id": "socialnet-demo",
        "redirect_uri": REDIRECT_URI,
        "scope": "read write",
        "state": "st4te",
    }
    if verifier is not None:
        params.update(code_challenge=s256(verifier), code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def approve(browser, params: dict):
    return browser.post("/o/authorize/?" + urlencode(params), {**params, "allow": "Authorize"})


def get_code(browser, verifier: str) -> str:
    response = approve(browser, authorize_params(verifier))
    assert response.status_code == 302
    return parse_qs(urlparse(response["Location"]).query)["code"][0]


def exchange(code: str, verifier: str, redirect_uri: str = REDIRECT_URI):
    return Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": "socialnet-demo",
            "code_verifier": verifier,
        },
    )


def issued_code(response) -> bool:
    return response.status_code == 302 and "code" in parse_qs(urlparse(response["Location"]).query)


def test_happy_path_in_process(browser):
    verifier = secrets.token_urlsafe(48)
    response = exchange(get_code(browser, verifier), verifier)
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_consent_page_is_shown_to_a_regular_user(browser, user):
    assert not user.is_staff
    verifier = secrets.token_urlsafe(48)
    response = browser.get("/o/authorize/", authorize_params(verifier))
    assert response.status_code == 200
    assert b"SocialNet demo client" in response.content


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # no challenge at all
        {"code_challenge": "a" * 43},  # challenge without method: defaults to plain, refused
        {"code_challenge": "a" * 43, "code_challenge_method": "plain"},
        {"code_challenge": "a" * 43, "code_challenge_method": "S512"},
    ],
    ids=["missing", "no-method", "plain", "unknown-method"],
)
def test_authorization_without_s256_challenge_is_refused(browser, overrides):
    params = authorize_params(None, **overrides)
    shown = browser.get("/o/authorize/", params)
    assert not issued_code(shown)
    if shown.status_code == 302:
        assert "error=" in shown["Location"]
    approved = approve(browser, params)
    assert not issued_code(approved)


def test_wrong_verifier_is_refused(browser):
    code = get_code(browser, secrets.token_urlsafe(48))
    response = exchange(code, secrets.token_urlsafe(48))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_cannot_be_used_twice(browser):
    verifier = secrets.token_urlsafe(48)
    code = get_code(browser, verifier)
    assert exchange(code, verifier).status_code == 200
    again = exchange(code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example.com/callback",
        REDIRECT_URI + "?next=http://evil.example.com",
        REDIRECT_URI + "/",
        "http://127.0.0.1:8765/Callback",
    ],
)
def test_redirect_uri_must_match_exactly(browser, redirect_uri):
    verifier = secrets.token_urlsafe(48)
    response = browser.get("/o/authorize/", authorize_params(verifier, redirect_uri=redirect_uri))
    # A wrong redirect URI is fatal: an error page, never a redirect to the attacker's URI.
    assert response.status_code == 400
    assert not response.has_header("Location")


def test_token_exchange_with_other_redirect_uri_is_refused(browser):
    verifier = secrets.token_urlsafe(48)
    code = get_code(browser, verifier)
    response = exchange(code, verifier, redirect_uri="http://127.0.0.1:8765/other")
    assert response.status_code == 400


def test_unknown_client_is_refused(browser):
    verifier = secrets.token_urlsafe(48)
    response = browser.get("/o/authorize/", authorize_params(verifier, client_id="nope"))
    assert response.status_code == 400


def test_implicit_grant_is_refused(browser):
    verifier = secrets.token_urlsafe(48)
    response = approve(browser, authorize_params(verifier, response_type="token"))
    location = response.get("Location", "")
    assert "access_token" not in location


def test_password_grant_is_refused(user):
    demo_client_ensure()
    response = Client().post(
        "/o/token/",
        {"grant_type": "password", "username": user.username, "password": TEST_PASSWORD, "client_id": "socialnet-demo"},
    )
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


def test_anonymous_authorize_redirects_to_login(db):
    demo_client_ensure()
    response = Client().get("/o/authorize/", authorize_params(secrets.token_urlsafe(48)))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_login_page_accepts_regular_users_and_refuses_inactive(db):
    UserFactory(username="regular")
    UserFactory(username="closed", is_active=False)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    token = page.cookies["csrftoken"].value
    ok = client.post(
        "/accounts/login/", {"username": "regular", "password": TEST_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert ok.status_code == 302
    other = Client(enforce_csrf_checks=True)
    page = other.get("/accounts/login/")
    token = page.cookies["csrftoken"].value
    refused = other.post(
        "/accounts/login/", {"username": "closed", "password": TEST_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert refused.status_code == 200  # form re-shown with an error
    assert b"didn't match" in refused.content


def test_login_without_csrf_is_refused(db):
    UserFactory(username="regular")
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "regular", "password": TEST_PASSWORD}
    )
    assert response.status_code == 403


def test_expired_token_gets_401(api_client, user):
    token = issue_access_token(user, expires_in=-10)
    response = api_client.get("/users/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_garbage_token_gets_401_even_on_public_endpoints(api_client, user):
    response = api_client.get(f"/users/{user.username}/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401


def test_token_in_query_string_is_not_accepted(api_client, user):
    token = issue_access_token(user)
    assert api_client.get(f"/users/me/?access_token={token}").status_code == 401


def test_read_scope_cannot_write(client_for, user):
    client = client_for(user, scope="read")
    assert client.get("/users/me/").status_code == 200
    response = client.patch("/users/me/", {"bio": "hacked"}, format="json")
    assert response.status_code == 403
    assert "write" in response.json()["detail"]
    user.refresh_from_db()
    assert user.bio == ""


def test_write_only_scope_cannot_read(client_for, user):
    assert client_for(user, scope="write").get("/users/me/").status_code == 403
