"""The whole Authorization Code + PKCE flow over real HTTP, driven by Authlib's OAuth2 client."""

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.common.security import generate_token
from authlib.common.urls import url_decode
from authlib.integrations.requests_client import OAuth2Session

from apps.users.oauth_clients import demo_client_ensure
from apps.users.tests.factories import UserFactory
from apps.users.tests.oauth_browser import browser_login_and_consent, pkce_session

REDIRECT_URI = "http://127.0.0.1:8765/callback"


class JsonTokenRequestSession(OAuth2Session):
    """Authlib's client, sending the code exchange as a JSON body instead of a form (API.md accepts both)."""

    def _fetch_token(self, url, body="", headers=None, auth=None, method="POST", **kwargs):
        # A public client authenticates by naming itself in the body ("none" auth), so put client_id in the JSON.
        payload = {**dict(url_decode(body)), "client_id": self.client_id}
        headers = {**(headers or {}), "Content-Type": "application/json"}
        response = self.post(url, data=json.dumps(payload), headers=headers, withhold_token=True, **kwargs)
        return self.parse_response_token(response)


@pytest.fixture
def oauth_user(transactional_db):
    demo_client_ensure()
    return UserFactory(username="pkce-user")


@pytest.mark.parametrize("token_body", ["form", "json"])
def test_full_pkce_flow_over_http(live_server, oauth_user, token_body):
    base = live_server.url
    session_class = JsonTokenRequestSession if token_body == "json" else OAuth2Session
    client = pkce_session(REDIRECT_URI, session_class=session_class)
    verifier = generate_token(64)
    authorize_url, state = client.create_authorization_url(f"{base}/o/authorize/", code_verifier=verifier)

    location = browser_login_and_consent(base, authorize_url, oauth_user.username)
    assert location.startswith(REDIRECT_URI)
    query = parse_qs(urlparse(location).query)
    assert query["state"] == [state]
    assert re.fullmatch(r"[\w-]+", query["code"][0])
    assert query["iss"], "RFC 9207 issuer identifier is sent (RFC 9700 mix-up defence)"

    token = client.fetch_token(f"{base}/o/token/", authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"read", "write"}
    assert 3500 <= token["expires_in"] <= 3600

    me = client.get(f"{base}/users/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "pkce-user"

    # Refresh rotates: the new pair works, the old refresh token is refused.
    old_refresh = token["refresh_token"]
    new_token = client.refresh_token(f"{base}/o/token/", refresh_token=old_refresh)
    assert new_token["refresh_token"] != old_refresh
    assert new_token["access_token"] != token["access_token"]
    assert client.get(f"{base}/users/me/").status_code == 200
    reuse = requests.post(
        f"{base}/o/token/",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh, "client_id": "socialnet-demo"},
    )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"

    # Revoke: the token stops working at once.
    client = OAuth2Session(client_id="socialnet-demo", token=new_token, token_endpoint_auth_method="none")
    revoked = client.revoke_token(f"{base}/o/revoke_token/", token=new_token["access_token"])
    assert revoked.status_code == 200
    after = requests.get(f"{base}/users/me/", headers={"Authorization": f"Bearer {new_token['access_token']}"})
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"].startswith("Bearer")
