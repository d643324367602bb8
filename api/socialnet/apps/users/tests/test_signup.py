import json

import pytest

from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STRONG = "plum-tangerine-87-orbit"


def signup(api_client, **body):
    return api_client.post("/users/create/", body, format="json")


def test_signup_returns_private_profile(api_client):
    response = signup(api_client, username="alice", email="alice@example.com", password=STRONG, first_name="Alice")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["role"] == "user"
    assert body["is_premium"] is False
    assert body["premium_until"] is None
    assert "password" not in body
    user = User.objects.get(username="alice")
    assert user.check_password(STRONG)


def test_signup_ignores_escalation_fields(api_client):
    response = signup(
        api_client,
        username="mallory",
        email="mallory@example.com",
        password=STRONG,
        role="admin",
        is_staff=True,
        is_superuser=True,
        premium_until="2999-01-01T00:00:00Z",
        is_premium=True,
    )
    assert response.status_code == 201
    user = User.objects.get(username="mallory")
    assert (user.role, user.is_staff, user.is_superuser, user.premium_until) == ("user", False, False, None)
    assert response.json()["role"] == "user"


@pytest.mark.parametrize(
    ("username", "email"),
    [("ALICE", "new@example.com"), ("newname", "ALICE@Example.COM"), ("Alice", "alice@example.com")],
)
def test_signup_rejects_case_insensitive_duplicates(api_client, username, email):
    UserFactory(username="alice", email="alice@example.com")
    response = signup(api_client, username=username, email=email, password=STRONG)
    assert response.status_code == 400
    assert User.objects.count() == 1


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "weakuser1x"])
def test_signup_applies_password_validators(api_client, password):
    response = signup(api_client, username="weakuser1x", email="weak@example.com", password=password)
    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="weakuser1x").exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "bob", "password": STRONG},
        {"username": "bob", "email": "not-an-email", "password": STRONG},
        {"username": ["bob"], "email": "bob@example.com", "password": STRONG},
        {"username": {"a": 1}, "email": "bob@example.com", "password": STRONG},
        {"username": "bo b!", "email": "bob@example.com", "password": STRONG},
        {"username": "b" * 151, "email": "bob@example.com", "password": STRONG},
        {"username": "me", "email": "bob@example.com", "password": STRONG},
        {"username": "Suggestions", "email": "bob@example.com", "password": STRONG},
        {"username": "bob", "email": "bob@example.com", "password": 12345},
        {"username": "bob", "email": "bob@example.com", "password": None},
    ],
)
def test_signup_rejects_bad_input(api_client, body):
    response = api_client.post("/users/create/", body, format="json")
    assert response.status_code == 400, response.content
    assert User.objects.count() == 0


@pytest.mark.parametrize("raw", [b"{", b"[1,2]", b"null", b"\xff\xfe", b'"text"'])
def test_signup_rejects_malformed_json(api_client, raw):
    response = api_client.generic("POST", "/users/create/", raw, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json() or response.json()
    assert User.objects.count() == 0


def test_signup_rejects_huge_body_with_413(api_client):
    body = json.dumps({"username": "bob", "email": "bob@example.com", "password": STRONG, "bio": "x" * 2_000_000})
    response = api_client.generic("POST", "/users/create/", body, content_type="application/json")
    assert response.status_code == 413
    assert User.objects.count() == 0


def test_signup_rejects_unsupported_media_type(api_client):
    response = api_client.generic("POST", "/users/create/", "username=bob", content_type="text/plain")
    assert response.status_code == 415
    assert User.objects.count() == 0
