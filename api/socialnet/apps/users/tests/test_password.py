"""Password change and reset (API.md, Account lifecycle), reset links read out of what a real SMTP server received."""

import secrets
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.http import urlsafe_base64_encode
from oauth2_provider.models import get_access_token_model, get_refresh_token_model, set_token_value

from apps.users.tests.factories import TEST_PASSWORD, UserFactory

from .lifecycle_support import STRONGER
from .mailbox import text_of, token_in

pytestmark = pytest.mark.django_db

RESET = "/accounts/reset-password/"
SAME_ANSWER = {"detail": "If an account uses this address, a link to reset its password is on its way."}


def with_refresh_token(user):
    """A refresh token issued together with the user's latest access token, as the token endpoint does."""
    access = get_access_token_model().objects.filter(user=user).latest("id")
    refresh = get_refresh_token_model()(user=user, application=access.application, access_token=access)
    set_token_value(refresh, secrets.token_urlsafe(30))
    refresh.save()
    return refresh


def live_refresh_tokens(user):
    return set(get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).values_list("id", flat=True))


def set_rate(settings, scope, rate):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


# --- change -----------------------------------------------------------------------------------------------------
def test_change_keeps_this_session_revokes_the_others_and_emails_a_notice(user, client_for, committed, mailbox):
    other_device = client_for(user)
    other_refresh = with_refresh_token(user)
    this_device = client_for(user)
    this_refresh = with_refresh_token(user)
    body = {"current_password": TEST_PASSWORD, "new_password": STRONGER}
    response = committed(this_device.post, "/users/me/password/", body, format="json")
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(STRONGER)
    assert this_device.get("/users/me/").status_code == 200
    assert other_device.get("/users/me/").status_code == 401
    assert live_refresh_tokens(user) == {this_refresh.id}
    assert other_refresh.id not in live_refresh_tokens(user)
    (notice,) = mailbox.wait_for(user.email)
    assert "password" in notice["Subject"].lower() and user.username in text_of(notice)


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": "wrong-password-123", "new_password": STRONGER},  # wrong current password
        {"current_password": TEST_PASSWORD, "new_password": "short"},  # weak
        {"current_password": TEST_PASSWORD, "new_password": "password123"},  # common
        {"current_password": TEST_PASSWORD, "new_password": "12345678901"},  # numeric
        {"current_password": TEST_PASSWORD},
        {"new_password": STRONGER},
        {"current_password": None, "new_password": STRONGER},
        {"current_password": [TEST_PASSWORD], "new_password": STRONGER},
        {"current_password": TEST_PASSWORD, "new_password": {"a": 1}},
        {"current_password": TEST_PASSWORD, "new_password": "x" * 129},
    ],
)
def test_bad_change_is_400_and_changes_nothing(user, client_for, committed, mailbox, body):
    other_device = client_for(user)
    client = client_for(user)
    response = committed(client.post, "/users/me/password/", body, format="json")
    assert response.status_code == 400, response.content
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert other_device.get("/users/me/").status_code == 200
    assert mailbox.messages == []


def test_change_needs_a_write_token(user, client_for, api_client):
    body = {"current_password": TEST_PASSWORD, "new_password": STRONGER}
    assert api_client.post("/users/me/password/", body, format="json").status_code == 401
    assert client_for(user, scope="read").post("/users/me/password/", body, format="json").status_code == 403
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_guessing_the_current_password_is_throttled(user, client_for, settings):
    set_rate(settings, "password_change", "3/hour")
    client = client_for(user)
    wrong = {"current_password": "guess-guess-guess", "new_password": STRONGER}
    assert [client.post("/users/me/password/", wrong, format="json").status_code for _ in range(3)] == [400] * 3
    assert client.post("/users/me/password/", wrong, format="json").status_code == 429


# --- reset ------------------------------------------------------------------------------------------------------
def request_reset(api_client, committed, email, **extra):
    return committed(api_client.post, "/users/password-reset/", {"email": email}, format="json", **extra)


def reset_token(mailbox, address, count=1):
    return token_in(mailbox.wait_for(address, count=count)[-1], RESET)


def test_reset_link_sets_a_new_password_once_and_signs_out_everywhere(user, client_for, api_client, committed, mailbox):
    device = client_for(user)
    with_refresh_token(user)
    response = request_reset(api_client, committed, user.email.upper())  # addresses match case-insensitively
    assert (response.status_code, response.json()) == (202, SAME_ANSWER)
    token = reset_token(mailbox, user.email)
    body = {"token": token, "new_password": STRONGER}
    confirmed = committed(api_client.post, "/users/password-reset/confirm/", body, format="json")
    assert confirmed.status_code == 204, confirmed.content
    user.refresh_from_db()
    assert user.check_password(STRONGER)
    assert user.email_verified  # the link reached the account's address
    assert device.get("/users/me/").status_code == 401
    assert live_refresh_tokens(user) == set()
    mailbox.wait_for(user.email, count=2)  # the "password changed" notice
    again = api_client.post("/users/password-reset/confirm/", {"token": token, "new_password": "other-" + STRONGER})
    assert again.status_code == 400 and "token" in again.json()
    user.refresh_from_db()
    assert user.check_password(STRONGER)


def test_unknown_and_known_addresses_get_the_same_answer(user, api_client, committed, mailbox):
    known = request_reset(api_client, committed, user.email)
    unknown = request_reset(api_client, committed, "nobody@example.com")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, SAME_ANSWER)
    assert known.headers.keys() == unknown.headers.keys()
    mailbox.wait_for(user.email)
    assert mailbox.to("nobody@example.com") == []


def test_the_request_does_the_same_work_for_any_address(celery_worker, api_client, mailbox, django_assert_num_queries):
    # With a worker (the deployed mode) the lookup happens in the task: the request itself only writes the task's
    # outbox row, whether or not an account has the address, so its timing cannot tell either.
    user = UserFactory()
    for address in (user.email, "nobody@example.com"):
        with django_assert_num_queries(1):
            response = api_client.post("/users/password-reset/", {"email": address}, format="json")
        assert (response.status_code, response.json()) == (202, SAME_ANSWER)
    mailbox.wait_for(user.email, timeout=15)


def test_reset_token_expires_after_an_hour(user, api_client, committed, mailbox, monkeypatch):
    request_reset(api_client, committed, user.email)
    token = reset_token(mailbox, user.email)
    monkeypatch.setattr(default_token_generator, "_now", lambda: datetime.now() + timedelta(hours=1, seconds=5))
    response = api_client.post("/users/password-reset/confirm/", {"token": token, "new_password": STRONGER})
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_any_password_change_voids_a_reset_token(user, client_for, api_client, committed, mailbox):
    request_reset(api_client, committed, user.email)
    token = reset_token(mailbox, user.email)
    change = {"current_password": TEST_PASSWORD, "new_password": STRONGER}
    assert client_for(user).post("/users/me/password/", change, format="json").status_code == 204
    response = api_client.post("/users/password-reset/confirm/", {"token": token, "new_password": "x-" + STRONGER})
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(STRONGER)


def test_weak_password_on_confirm_keeps_the_token_usable(user, api_client, committed, mailbox):
    request_reset(api_client, committed, user.email)
    token = reset_token(mailbox, user.email)
    weak = api_client.post("/users/password-reset/confirm/", {"token": token, "new_password": "password123"})
    assert weak.status_code == 400 and "new_password" in weak.json()
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    ok = api_client.post("/users/password-reset/confirm/", {"token": token, "new_password": STRONGER})
    assert ok.status_code == 204


def test_a_token_resets_only_its_own_account(user, other_user, api_client, committed, mailbox):
    request_reset(api_client, committed, user.email)
    token = reset_token(mailbox, user.email)
    _, secret = token.split(".", 1)
    forged = f"{urlsafe_base64_encode(str(other_user.pk).encode())}.{secret}"
    response = api_client.post("/users/password-reset/confirm/", {"token": forged, "new_password": STRONGER})
    assert response.status_code == 400
    other_user.refresh_from_db()
    assert other_user.check_password(TEST_PASSWORD)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "abc",
        "MQ.",
        "MQ.abc-def",
        "!!.x-y",
        "OTk5OTk5OTk5OTk5OTk5OTk5OTk5.x-y",
        "LTE.x-y",
        "w6k.x-y",
        None,
        7,
        ["x"],
    ],
)
def test_malformed_reset_tokens_are_400(user, api_client, token):
    response = api_client.post(
        "/users/password-reset/confirm/", {"token": token, "new_password": STRONGER}, format="json"
    )
    assert response.status_code == 400, response.content
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


@pytest.mark.parametrize("body", [{}, {"email": "not-an-address"}, {"email": None}, {"email": ["a@example.com"]}])
def test_bad_reset_requests_are_400(api_client, body, mailbox):
    assert api_client.post("/users/password-reset/", body, format="json").status_code == 400
    assert mailbox.messages == []


def test_inactive_accounts_get_no_reset_email(api_client, committed, mailbox):
    gone = UserFactory(is_active=False)
    assert request_reset(api_client, committed, gone.email).status_code == 202
    active = UserFactory()
    request_reset(api_client, committed, active.email)
    mailbox.wait_for(active.email)
    assert mailbox.to(gone.email) == []


def test_reset_is_throttled_per_address_whoever_asks(user, api_client, settings, mailbox):
    set_rate(settings, "password_reset_address", "2/hour")
    statuses = [
        api_client.post("/users/password-reset/", {"email": user.email}, REMOTE_ADDR=f"10.0.0.{i}").status_code
        for i in range(3)
    ]
    assert statuses == [202, 202, 429]
    # The same for an address nobody has: a 429 tells nothing about who is registered.
    statuses = [
        api_client.post(
            "/users/password-reset/", {"email": "Nobody@Example.com"}, REMOTE_ADDR=f"10.0.1.{i}"
        ).status_code
        for i in range(3)
    ]
    assert statuses == [202, 202, 429]


def test_reset_is_throttled_per_client_address(api_client, settings):
    set_rate(settings, "password_reset", "3/hour")
    statuses = [
        api_client.post("/users/password-reset/", {"email": f"n{i}@example.com"}, REMOTE_ADDR="10.9.9.9").status_code
        for i in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    assert (
        api_client.post("/users/password-reset/", {"email": "z@example.com"}, REMOTE_ADDR="10.9.9.8").status_code == 202
    )


def test_mail_server_down_does_not_fail_a_reset_request(user, api_client, committed, mail_server_down):
    assert request_reset(api_client, committed, user.email).status_code == 202


def test_reset_page_sets_the_password_through_a_csrf_protected_form(user, api_client, committed, mailbox):
    request_reset(api_client, committed, user.email)
    token = reset_token(mailbox, user.email)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(RESET, {"token": token})
    assert page.status_code == 200 and b'name="new_password"' in page.content
    csrf = browser.cookies["csrftoken"].value
    differ = browser.post(
        RESET, {"token": token, "new_password": STRONGER, "new_password2": "nope", "csrfmiddlewaretoken": csrf}
    )
    assert differ.status_code == 400
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    done = browser.post(
        RESET, {"token": token, "new_password": STRONGER, "new_password2": STRONGER, "csrfmiddlewaretoken": csrf}
    )
    assert done.status_code == 200 and b"password is changed" in done.content
    user.refresh_from_db()
    assert user.check_password(STRONGER)
    again = browser.post(
        RESET, {"token": token, "new_password": STRONGER, "new_password2": STRONGER, "csrfmiddlewaretoken": csrf}
    )
    assert again.status_code == 400


def test_reset_email_link_points_at_the_public_base_url(user, api_client, committed, mailbox, settings):
    settings.PUBLIC_BASE_URL = "https://social.example"
    request_reset(api_client, committed, user.email)
    (message,) = mailbox.wait_for(user.email)
    assert "https://social.example/accounts/reset-password/?token=" in text_of(message)
