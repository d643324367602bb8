"""The rule for new usernames (issues 11 and 18), at the service and at the API; old names keep working."""

from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from rest_framework.exceptions import ValidationError

from apps.users.models import User
from apps.users.services import user_create
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "plum-tangerine-87-orbit"
REFUSED = [
    "\u0430lice",  # Cyrillic small a: looks exactly like alice
    "\uff41\uff4c\uff49\uff43\uff45",  # full-width alice
    "jöhn",
    "john.doe",
    "john-doe",
    "john doe",
    "alice\n",
    "",
    "a" * 31,
    "١٢٣",  # Arabic-Indic digits are \d but not [0-9]
]


def create(username: str) -> User:
    return user_create(username=username, email=f"{abs(hash(username))}@example.com", password=STRONG)


@pytest.mark.parametrize("username", REFUSED)
def test_service_refuses_names_outside_the_pattern(username):
    with pytest.raises(ValidationError) as error:
        create(username)
    assert "username" in error.value.detail
    assert not User.objects.exists()


@pytest.mark.parametrize("username", ["me", "ME", "create", "suggestions", "Admin", "moderation"])
def test_service_refuses_reserved_names(username):
    # Was only checked by the serializer: user_create("me") used to succeed and shadow /users/me/.
    with pytest.raises(ValidationError, match="reserved"):
        create(username)


def test_service_refuses_case_insensitive_duplicates():
    create("alice")
    with pytest.raises(ValidationError, match="already exists"):
        create("ALICE")


@pytest.mark.parametrize("username", ["a", "alice", "Bob_42", "_", "x" * 30, "0123"])
def test_service_accepts_the_pattern(username):
    assert create(username).username == username


@pytest.mark.parametrize("username", REFUSED[:4])
def test_api_refuses_look_alikes(api_client, username):
    UserFactory(username="alice")
    response = api_client.post(
        "/users/create/", {"username": username, "email": "new@example.com", "password": STRONG}, format="json"
    )
    assert response.status_code == 400
    assert "username" in response.json()
    assert User.objects.count() == 1


def test_api_refuses_reserved_name(api_client):
    response = api_client.post(
        "/users/create/", {"username": "me", "email": "me@example.com", "password": STRONG}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["username"] == ["This username is reserved."]


def test_existing_non_conforming_names_keep_working(api_client):
    # Accounts made before the rule (Django's default allowed letters of any script, ".", "@", "+", "-").
    legacy = UserFactory(username="jöhn.doe")
    assert api_client.get(f"/users/{quote(legacy.username)}/").status_code == 200

    browser = Client()
    page = browser.post("/accounts/login/", {"username": "jöhn.doe", "password": TEST_PASSWORD})
    assert page.status_code == 302, "the legacy account can still sign in"
    assert browser.session["_auth_user_id"] == str(legacy.pk)


def test_name_lookups_ignore_case_through_the_unique_index(django_assert_num_queries):
    alice = UserFactory(username="Alice")
    with django_assert_num_queries(1) as captured:
        assert User.objects.named("aLICE").get() == alice
    # lower() = lower() is the unique index's expression (users_user_username_ci_unique): an index scan, where
    # `username__iexact` (upper() = upper()) read every account.
    assert 'where lower("users_user"."username") = (lower(' in captured.captured_queries[0]["sql"].lower()
    assert User.objects.get_by_natural_key("ALICE") == alice
    assert not User.objects.named("alic").exists()


def test_address_lookups_ignore_case_through_the_unique_index():
    alice = UserFactory(email="Alice@Example.com")
    UserFactory(email="")
    assert list(User.objects.with_email("aLICE@example.COM")) == [alice]
    assert not User.objects.with_email("").exists(), "an account without an address matches no lookup"
    with connection.cursor() as cursor:
        # A few rows would be read sequentially anyway: ask the planner whether the index can answer at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = User.objects.with_email("alice@example.com").explain()
    assert "users_user_email_ci_unique" in plan, plan
