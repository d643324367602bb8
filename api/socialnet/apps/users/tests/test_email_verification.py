"""Email verification (API.md, Account lifecycle): the token is read out of the email a real SMTP server received."""

import pytest
from django.core import signing
from django.test import Client

from apps.users.models import User
from apps.users.tests.factories import UserFactory

from .lifecycle_support import LaterClock
from .mailbox import text_of, token_in

pytestmark = pytest.mark.django_db

VERIFY = "/accounts/verify-email/"


def verification_token(mailbox, address, index=-1):
    return token_in(mailbox.wait_for(address, count=abs(index) if index < 0 else index + 1)[index], VERIFY)


def test_signup_link_verifies_the_address_once(signup, mailbox, api_client, client_for):
    assert signup().json()["email_verified"] is False
    token = verification_token(mailbox, "alice@example.com")
    response = api_client.post("/users/verify-email/", {"token": token}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"email_verified": True}
    user = User.objects.get(username="alice")
    assert user.email_verified
    assert client_for(user).get("/users/me/").json()["email_verified"] is True
    again = api_client.post("/users/verify-email/", {"token": token}, format="json")
    assert again.status_code == 400 and "token" in again.json()


def test_expired_link_is_refused(signup, mailbox, api_client, monkeypatch):
    signup()
    token = verification_token(mailbox, "alice@example.com")
    monkeypatch.setattr(signing, "time", LaterClock(48 * 3600 + 5))
    assert api_client.post("/users/verify-email/", {"token": token}, format="json").status_code == 400
    assert not User.objects.get(username="alice").email_verified


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "eyJ1IjoxfQ:1abc:not-a-signature",
        signing.TimestampSigner(salt="someone-else", sep=".").sign_object({"u": 1, "a": "0" * 32}),
        signing.TimestampSigner(salt="apps.users.email-verification", sep=".").sign_object([1, 2]),
        signing.TimestampSigner(salt="apps.users.email-verification", sep=".").sign_object({"u": "1", "a": 5}),
        "a" * 513,
        None,
        ["t"],
        {"t": 1},
        12,
    ],
)
def test_malformed_tokens_are_400_and_change_nothing(signup, api_client, token):
    signup()
    response = api_client.post("/users/verify-email/", {"token": token}, format="json")
    assert response.status_code == 400, response.content
    assert not User.objects.get(username="alice").email_verified


def test_tampered_token_is_refused(signup, mailbox, api_client):
    signup()
    token = verification_token(mailbox, "alice@example.com")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert api_client.post("/users/verify-email/", {"token": tampered}, format="json").status_code == 400


def test_a_token_verifies_only_its_own_user(signup, mailbox, api_client):
    signup("alice", "alice@example.com")
    signup("bob", "bob@example.com")
    token = verification_token(mailbox, "bob@example.com")
    assert api_client.post("/users/verify-email/", {"token": token}, format="json").status_code == 200
    assert User.objects.get(username="bob").email_verified
    assert not User.objects.get(username="alice").email_verified


def test_resend_sends_a_new_link_and_needs_a_token(signup, mailbox, api_client, client_for, committed):
    signup()
    user = User.objects.get(username="alice")
    assert api_client.post("/users/me/verify-email/resend/").status_code == 401
    response = committed(client_for(user).post, "/users/me/verify-email/resend/")
    assert response.status_code == 202
    token = verification_token(mailbox, "alice@example.com", index=1)
    assert api_client.post("/users/verify-email/", {"token": token}, format="json").status_code == 200
    # Verified: nothing left to send.
    assert client_for(user).post("/users/me/verify-email/resend/").status_code == 400


def test_resend_is_throttled_per_user(user, client_for, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_verification_resend": "2/hour",
        },
    }
    client = client_for(user)
    assert [client.post("/users/me/verify-email/resend/").status_code for _ in range(2)] == [202, 202]
    throttled = client.post("/users/me/verify-email/resend/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # Someone else's budget is their own.
    assert client_for(UserFactory()).post("/users/me/verify-email/resend/").status_code == 202


def verified_user(**kwargs):
    return UserFactory(email_verified=True, **kwargs)


def test_email_change_waits_for_the_new_address_and_tells_the_old_one(mailbox, client_for, api_client, committed):
    user = verified_user(username="carol", email="carol@example.com")
    client = client_for(user)
    response = committed(client.patch, "/users/me/", {"email": "carol@new.example"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["email"], body["pending_email"], body["email_verified"]) == (
        "carol@example.com",
        "carol@new.example",
        True,
    )
    (notice,) = mailbox.wait_for("carol@example.com")
    assert "carol@new.example" in text_of(notice)
    token = verification_token(mailbox, "carol@new.example")
    assert User.objects.get(pk=user.pk).email == "carol@example.com"  # not before the new address is proven

    assert api_client.post("/users/verify-email/", {"token": token}, format="json").status_code == 200
    me = client.get("/users/me/").json()
    assert (me["email"], me["pending_email"], me["email_verified"]) == ("carol@new.example", "", True)
    assert api_client.post("/users/verify-email/", {"token": token}, format="json").status_code == 400


def test_a_replaced_pending_address_link_no_longer_works(mailbox, client_for, api_client, committed):
    user = verified_user(email="dan@example.com")
    client = client_for(user)
    committed(client.patch, "/users/me/", {"email": "first@example.com"}, format="json")
    first = verification_token(mailbox, "first@example.com")
    committed(client.patch, "/users/me/", {"email": "dan@example.com"}, format="json")  # cancels the change
    assert User.objects.get(pk=user.pk).pending_email == ""
    assert api_client.post("/users/verify-email/", {"token": first}, format="json").status_code == 400
    assert User.objects.get(pk=user.pk).email == "dan@example.com"


def test_email_change_to_a_taken_address_is_refused(client_for):
    UserFactory(email="taken@example.com")
    user = verified_user(email="erin@example.com")
    response = client_for(user).patch("/users/me/", {"email": "TAKEN@example.com"}, format="json")
    assert response.status_code == 400 and "email" in response.json()
    assert User.objects.get(pk=user.pk).pending_email == ""


def test_address_taken_while_pending_fails_verification(mailbox, client_for, api_client, committed):
    user = verified_user(email="fay@example.com")
    committed(client_for(user).patch, "/users/me/", {"email": "wanted@example.com"}, format="json")
    token = verification_token(mailbox, "wanted@example.com")
    UserFactory(email="wanted@example.com")  # someone signed up with it meanwhile
    assert api_client.post("/users/verify-email/", {"token": token}, format="json").status_code == 400
    assert User.objects.get(pk=user.pk).email == "fay@example.com"


@pytest.mark.parametrize("email", ["not-an-address", "", None, ["a@example.com"], "a" * 250 + "@example.com"])
def test_bad_email_in_patch_is_400(user, client_for, email):
    response = client_for(user).patch("/users/me/", {"email": email}, format="json")
    assert response.status_code == 400
    assert User.objects.get(pk=user.pk).pending_email == ""


def test_verification_page_confirms_only_on_post_with_csrf(signup, mailbox):
    signup()
    token = verification_token(mailbox, "alice@example.com")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(VERIFY, {"token": token})
    assert page.status_code == 200 and b"Confirm my address" in page.content
    assert not User.objects.get(username="alice").email_verified  # a link preview must not use the token up
    assert browser.post(VERIFY, {"token": token}).status_code == 403  # no CSRF token
    done = browser.post(VERIFY, {"token": token, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert done.status_code == 200 and b"confirmed" in done.content
    assert User.objects.get(username="alice").email_verified
    again = browser.post(VERIFY, {"token": token, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert again.status_code == 400


@pytest.mark.parametrize("query", ["", "?token=", "?token=garbage", "?token=" + "a" * 600])
def test_verification_page_with_a_bad_link_says_so(query, client):
    response = client.get(VERIFY + query)
    assert response.status_code in (200, 400)
    assert response["Content-Type"].startswith("text/html")


def test_email_changes_are_throttled_like_resends(client_for, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_verification_resend": "2/hour",
        },
    }
    client = client_for(verified_user())
    statuses = [
        client.patch("/users/me/", {"email": f"victim{i}@example.com"}, format="json").status_code for i in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert client.patch("/users/me/", {"bio": "still fine"}, format="json").status_code == 200
