"""Account recovery through the gateway: the reset link arrives by real SMTP, and confirming it kills every token
of the account at the gateway too, within its introspection cache window."""

from __future__ import annotations

import requests

from apps.common.testing.celery_worker import wait_until
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.mailbox import token_in

NEW_PASSWORD = "velvet-quarry-51-lantern"


def test_reset_through_the_gateway_revokes_cached_tokens(live_server, start_gateway, token_for, mailbox):
    gateway = start_gateway(upstream_url=live_server.url, introspection_cache_seconds=1, local_cache_seconds=1)
    user = UserFactory()
    auth = {"Authorization": f"Bearer {token_for(user)}"}
    assert requests.get(f"{gateway.url}/users/me/", headers=auth).status_code == 200  # now cached at the gateway

    asked = requests.post(f"{gateway.url}/users/password-reset/", json={"email": user.email})
    assert asked.status_code == 202
    token = token_in(mailbox.wait_for(user.email)[0], "/accounts/reset-password/")
    confirmed = requests.post(
        f"{gateway.url}/users/password-reset/confirm/", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204, confirmed.text

    wait_until(
        lambda: requests.get(f"{gateway.url}/users/me/", headers=auth).status_code == 401,
        timeout=10,
        message="the old token refused by the gateway once its cache entry expired",
    )
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(TEST_PASSWORD)
