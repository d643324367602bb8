"""Failed logins limited in Django itself, per client address and per account (issue 18: 60 wrong passwords
straight to Django were all answered, then the right one logged in)."""

import base64
import time
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from oauth2_provider.models import get_application_model

from apps.users.oauth_clients import demo_client_ensure
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.66"
ELSEWHERE = "198.51.100.77"
GATEWAY = "127.0.0.1"
LOGIN_PATHS = ["/accounts/login/", "/admin/login/"]


def login(path: str, username: str, password: str, address: str, **meta):
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **meta)


def signed_in(response) -> bool:
    return response.status_code == 302


def hammer(path: str, username: str, address: str, times: int = 30, **meta) -> list[int]:
    return [login(path, username, "wrong-password", address, **meta).status_code for _ in range(times)]


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_wrong_passwords_lock_the_account_and_the_address(path):
    victim = UserFactory(username="victim", admin=True)
    bystander = UserFactory(username="bystander", admin=True)
    codes = hammer(path, victim.username, ATTACKER)
    assert codes[:9] == [200] * 9, "wrong passwords re-show the form until the limit"
    assert set(codes[9:]) == {429}
    # The right password is refused too, from the same address and, for this account, from any address.
    locked = login(path, victim.username, TEST_PASSWORD, ATTACKER)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert b"Too many failed sign-in attempts" in locked.content
    assert login(path, victim.username, TEST_PASSWORD, ELSEWHERE).status_code == 429
    assert login(path, bystander.username, TEST_PASSWORD, ATTACKER).status_code == 429
    # Another account from another address is not affected.
    assert signed_in(login(path, bystander.username, TEST_PASSWORD, ELSEWHERE))


def test_case_variants_count_as_one_account():
    UserFactory(username="victim")
    for n in range(10):
        login("/accounts/login/", "VICTIM" if n % 2 else "Victim", "wrong-password", f"198.51.100.{n}")
    assert login("/accounts/login/", "victim", TEST_PASSWORD, ELSEWHERE).status_code == 429


def test_addresses_behind_the_gateway_are_told_apart():
    UserFactory(username="victim")
    UserFactory(username="other")
    hammer("/accounts/login/", "victim", GATEWAY, times=12, HTTP_X_FORWARDED_FOR=ATTACKER)
    # Same gateway, another client, another account: unaffected.
    assert signed_in(login("/accounts/login/", "other", TEST_PASSWORD, GATEWAY, HTTP_X_FORWARDED_FOR=ELSEWHERE))


def test_spoofed_forwarded_for_does_not_escape_the_address_limit():
    UserFactory(username="other")
    for n in range(12):
        login("/accounts/login/", f"guess{n}", "wrong-password", ATTACKER, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    spoofed = login("/accounts/login/", "other", TEST_PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert spoofed.status_code == 429


@override_settings(AXES_COOLOFF_TIME=timedelta(seconds=2))
def test_lockout_is_lifted_by_time():
    UserFactory(username="victim")
    hammer("/accounts/login/", "victim", ATTACKER, times=12)
    assert login("/accounts/login/", "victim", TEST_PASSWORD, ATTACKER).status_code == 429
    time.sleep(2.2)
    assert signed_in(login("/accounts/login/", "victim", TEST_PASSWORD, ATTACKER))


def test_success_clears_the_accounts_counters_only():
    UserFactory(username="me_myself")
    hammer("/accounts/login/", "me_myself", ATTACKER, times=9)
    assert signed_in(login("/accounts/login/", "me_myself", TEST_PASSWORD, ATTACKER))
    # The user's own typos are forgiven: nine more do not lock them.
    assert set(hammer("/accounts/login/", "me_myself", ATTACKER, times=9)) == {200}
    assert signed_in(login("/accounts/login/", "me_myself", TEST_PASSWORD, ATTACKER))


def test_own_login_does_not_reset_guesses_at_someone_else():
    UserFactory(username="attacker_acct")
    UserFactory(username="victim")
    for _ in range(2):
        hammer("/accounts/login/", "victim", ATTACKER, times=4)
        assert signed_in(login("/accounts/login/", "attacker_acct", TEST_PASSWORD, ATTACKER))
    hammer("/accounts/login/", "victim", ATTACKER, times=2)
    # axes' own reset-on-success would have wiped the address's records each time, and the 10 guesses with them.
    assert login("/accounts/login/", "victim", TEST_PASSWORD, ELSEWHERE).status_code == 429


# --- /o/token/ -------------------------------------------------------------------------------------------------


def confidential_client(client_id: str, secret: str):
    Application = get_application_model()
    return Application.objects.create(
        client_id=client_id,
        client_secret=secret,
        name=client_id,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )


def client_credentials(client_id: str, secret: str, address: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}", REMOTE_ADDR=address
    )


def test_wrong_client_secrets_lock_the_client_and_the_address():
    confidential_client("backend-a", "right-secret-a")
    confidential_client("backend-b", "right-secret-b")
    codes = [client_credentials("backend-a", "guess", ATTACKER).status_code for _ in range(30)]
    assert codes[:9] == [401] * 9
    assert set(codes[9:]) == {429}
    locked = client_credentials("backend-a", "right-secret-a", ATTACKER)
    assert locked.status_code == 429
    assert locked.json()["error"] == "too_many_attempts"
    assert int(locked["Retry-After"]) > 0
    assert client_credentials("backend-a", "right-secret-a", ELSEWHERE).status_code == 429
    assert client_credentials("backend-b", "right-secret-b", ATTACKER).status_code == 429
    assert client_credentials("backend-b", "right-secret-b", ELSEWHERE).status_code == 200


def bad_code(address: str):
    return Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "client_id": "socialnet-demo",
            "code": "guessed",
            "code_verifier": "x" * 43,
        },
        REMOTE_ADDR=address,
    )


def test_guessed_codes_lock_the_address_but_not_the_public_client():
    demo_client_ensure()
    codes = [bad_code(ATTACKER).status_code for _ in range(30)]
    assert codes[:9] == [400] * 9
    assert set(codes[9:]) == {429}
    # Counting these per client_id would let anyone lock the demo app for every user: another address is fine.
    assert bad_code(ELSEWHERE).status_code == 400


def test_refused_refresh_tokens_do_not_lock_anyone():
    # An app racing its own refresh-token rotation fails like this innocently; it must not lock its user's address.
    demo_client_ensure()
    body = {"grant_type": "refresh_token", "client_id": "socialnet-demo", "refresh_token": "stale"}
    codes = {Client().post("/o/token/", body, REMOTE_ADDR=ATTACKER).status_code for _ in range(15)}
    assert codes == {400}
    UserFactory(username="victim")
    assert signed_in(login("/accounts/login/", "victim", TEST_PASSWORD, ATTACKER))


# --- /o/introspect/ and /o/revoke_token/ ------------------------------------------------------------------------


def introspect(client_id: str, secret: str, address: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    # enforce_csrf_checks: clients post here without a session or CSRF token, as real ones do.
    return Client(enforce_csrf_checks=True).post(
        "/o/introspect/", {"token": "some-token"}, HTTP_AUTHORIZATION=f"Basic {basic}", REMOTE_ADDR=address
    )


def test_guessed_secrets_at_introspection_lock_the_address_not_the_client():
    confidential_client("gateway-like", "right-secret")
    codes = [introspect("gateway-like", "guess", ATTACKER).status_code for _ in range(30)]
    assert codes[:9] == [403] * 9
    assert set(codes[9:]) == {429}
    assert introspect("gateway-like", "right-secret", ATTACKER).status_code == 429
    # The client itself (the gateway introspects every new token with it) keeps working from its own address:
    # counting the guesses against it would let anyone lock every user out.
    answer = introspect("gateway-like", "right-secret", GATEWAY)
    assert answer.status_code == 200 and answer.json() == {"active": False}


def revoke(address: str, **credentials):
    return Client(enforce_csrf_checks=True).post(
        "/o/revoke_token/", {"token": "some-token", **credentials}, REMOTE_ADDR=address
    )


def test_guessed_secrets_at_revocation_lock_the_address():
    confidential_client("backend-r", "right-secret")
    demo_client_ensure()
    # A public client revoking a token it does not know is answered 200 (RFC 7009) and is not a guess.
    assert {revoke(ELSEWHERE, client_id="socialnet-demo").status_code for _ in range(15)} == {200}
    codes = [revoke(ATTACKER, client_id="backend-r", client_secret="guess").status_code for _ in range(30)]
    assert codes[:9] == [401] * 9
    assert set(codes[9:]) == {429}
    assert revoke(ATTACKER, client_id="backend-r", client_secret="right-secret").status_code == 429
    assert revoke(ELSEWHERE, client_id="backend-r", client_secret="right-secret").status_code == 200
