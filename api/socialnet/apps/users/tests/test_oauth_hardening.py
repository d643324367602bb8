"""Issue 18's OAuth findings, over the real authorize and token endpoints: the introspection scope, codes that
outlive a suspension, codes that survive a wrong PKCE verifier."""

import base64
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from oauth2_provider.models import get_access_token_model, get_application_model

from apps.users.oauth_clients import demo_client_ensure, gateway_client_ensure
from apps.users.services import user_deactivate
from apps.users.tests.factories import UserFactory
from apps.users.tests.test_oauth_refusals import (
    approve,
    authorize_params,
    exchange,
    get_code,
    issued_code,
)

pytestmark = pytest.mark.django_db


# --- introspection scope ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["read write introspection", "introspection"])
def test_authorize_refuses_the_introspection_scope(signed_in, scope):
    _, browser = signed_in
    params = authorize_params(secrets.token_urlsafe(48), scope=scope)
    shown = browser.get("/o/authorize/", params)
    assert not issued_code(shown)
    assert shown.status_code == 302
    assert parse_qs(urlparse(shown["Location"]).query)["error"] == ["invalid_scope"]
    # Posting the consent form by hand gets no code either.
    assert not issued_code(approve(browser, params))
    assert not get_access_token_model().objects.filter(scope__contains="introspection").exists()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_other_confidential_clients_cannot_get_it_either():
    Application = get_application_model()
    Application.objects.create(
        client_id="some-backend",
        client_secret="backend-secret",
        name="some backend",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "introspection"},
        HTTP_AUTHORIZATION=basic("some-backend", "backend-secret"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    plain = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic("some-backend", "backend-secret")
    )
    assert plain.status_code == 200
    assert "introspection" not in plain.json()["scope"]


def test_the_gateway_client_still_gets_it():
    gateway_client_ensure(secret="gateway-secret-for-test")
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "introspection"},
        HTTP_AUTHORIZATION=basic("socialnet-gateway", "gateway-secret-for-test"),
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "introspection"


# --- authorization codes ---------------------------------------------------------------------------------------


@pytest.fixture
def signed_in(db):
    """A user and their browser, signed in to the authorize page."""
    demo_client_ensure()
    user = UserFactory()
    client = Client()
    client.force_login(user)
    return user, client


def test_a_code_issued_before_the_account_closed_is_refused(signed_in):
    user, client = signed_in
    verifier = secrets.token_urlsafe(48)
    code = get_code(client, verifier)
    user_deactivate(user=user)
    response = exchange(code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not get_access_token_model().objects.filter(user=user).exists()


def test_a_code_of_an_account_made_inactive_any_other_way_is_refused(signed_in):
    user, client = signed_in
    verifier = secrets.token_urlsafe(48)
    code = get_code(client, verifier)
    user.is_active = False  # e.g. unticked in the Django admin: no service ran
    user.save(update_fields=["is_active"])
    assert exchange(code, verifier).status_code == 400


def test_a_wrong_verifier_burns_the_code(signed_in):
    _, client = signed_in
    verifier = secrets.token_urlsafe(48)
    code = get_code(client, verifier)
    wrong = exchange(code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    right = exchange(code, verifier)
    assert right.status_code == 400, "one guess per stolen code, not one per try"
    assert right.json()["error"] == "invalid_grant"


def test_a_wrong_redirect_uri_burns_the_code_too(signed_in):
    _, client = signed_in
    verifier = secrets.token_urlsafe(48)
    code = get_code(client, verifier)
    assert exchange(code, verifier, redirect_uri="http://127.0.0.1:8765/other").status_code == 400
    assert exchange(code, verifier).status_code == 400


def test_the_right_verifier_first_time_still_works(signed_in):
    _, client = signed_in
    verifier = secrets.token_urlsafe(48)
    assert exchange(get_code(client, verifier), verifier).status_code == 200
