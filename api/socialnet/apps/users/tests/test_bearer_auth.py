"""The bearer-token check of every API request (apps.users.authentication, apps.users.access_tokens).

It reads the token and its user with one statement per request and caches nothing: each way a token or an
account stops being usable must be refused by the very next request at Django, whatever the gateway cached.
"""

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework.test import APIClient

from apps.users import lifecycle, tokens
from apps.users.models import User
from apps.users.oauth_clients import demo_client_ensure

from .factories import TEST_PASSWORD, UserFactory
from .oauth import issue_access_token

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def token(user) -> str:
    return issue_access_token(user)


def test_one_query_reads_token_and_user(user, token, django_assert_num_queries):
    client = bearer(token)
    with django_assert_num_queries(1):
        response = client.get("/users/me/")
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_revoked_token_is_refused_at_once(user, token):
    client = bearer(token)
    assert client.get("/users/me/").status_code == 200
    revoked = APIClient().post(
        "/o/revoke_token/", {"token": token, "client_id": demo_client_ensure()[0].client_id}, format="multipart"
    )
    assert revoked.status_code == 200
    response = client.get("/users/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api",error="invalid_token",error_description="The access token is invalid."'
    )


def test_deactivated_account_is_refused_even_before_its_tokens_are_deleted(user, token):
    client = bearer(token)
    assert client.get("/users/me/").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)  # no signal, tokens still stored
    assert client.get("/users/me/").status_code == 401


def test_password_change_refuses_every_other_token(user, token):
    other = bearer(issue_access_token(user))
    current = bearer(token)
    changed = current.post(
        "/users/me/password/",
        {"current_password": TEST_PASSWORD, "new_password": "a-brand-new-passphrase-42"},
        format="json",
    )
    assert changed.status_code == 204
    assert other.get("/users/me/").status_code == 401
    assert current.get("/users/me/").status_code == 200  # the session that changed it stays signed in


def test_password_reset_refuses_every_token(user, token):
    client = bearer(token)
    assert client.get("/users/me/").status_code == 200
    lifecycle.password_reset_confirm(
        token=tokens.password_reset_token_make(user=user), new_password="a-brand-new-passphrase-42"
    )
    assert client.get("/users/me/").status_code == 401


def test_account_deletion_refuses_the_token_at_once(user, token):
    client = bearer(token)
    assert client.delete("/users/me/", {"password": TEST_PASSWORD}, format="json").status_code == 204
    assert client.get("/users/me/").status_code == 401


def test_expired_token_is_refused(user):
    response = bearer(issue_access_token(user, expires_in=-1)).get("/users/me/")
    assert (
        response.status_code == 401
        and 'error_description="The access token has expired."' in response["WWW-Authenticate"]
    )


def test_premium_and_role_changes_show_on_the_next_request(token, user):
    client = bearer(token)
    assert client.get("/users/me/").json()["is_premium"] is False
    User.objects.filter(pk=user.pk).update(premium_until=timezone.now() + timezone.timedelta(days=1), role="moderator")
    body = client.get("/users/me/").json()
    assert (body["is_premium"], body["role"]) == (True, "moderator")


@pytest.mark.parametrize("header", ["Bearer ", "Bearer two words", "Bearer unknown-token", "bearer \x7f"])
def test_malformed_or_unknown_tokens_get_401_even_on_public_paths(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/posts/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_token_of_another_user_reads_that_user_only(user, token):
    other = UserFactory()
    assert bearer(issue_access_token(other)).get("/users/me/").json()["username"] == other.username
    assert bearer(token).get("/users/me/").json()["username"] == user.username


def test_audience_restricted_token_is_checked_against_the_request(user):
    raw = issue_access_token(user)
    get_access_token_model().objects.filter(user=user).update(resource=["https://elsewhere.example/api/"])
    assert bearer(raw).get("/users/me/").status_code == 401


@pytest.mark.parametrize(("scope", "method", "status"), [("read", "post", 403), ("write", "get", 403)])
def test_scope_rule_is_kept(user, scope, method, status):
    client = bearer(issue_access_token(user, scope=scope))
    response = getattr(client, method)("/posts/", {"text": "hello"}, format="json")
    assert response.status_code == status
