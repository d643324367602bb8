"""Play a user's browser through the HTML login and consent pages (plain HTTP, CSRF included)."""

from html.parser import HTMLParser
from urllib.parse import urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session

from .factories import TEST_PASSWORD


def pkce_session(redirect_uri: str, *, session_class=OAuth2Session, scope: str = "read write") -> OAuth2Session:
    """The demo client set up as a mobile app would: public (no secret), PKCE with S256."""
    return session_class(
        client_id="socialnet-demo",
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )


class FormParser(HTMLParser):
    """Collects the inputs of the first form on a page (what a browser would submit)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self._done:
            self._in_form = True
        elif tag == "input" and self._in_form and attrs.get("name") and attrs.get("type") != "submit":
            self.fields[attrs["name"]] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_fields(html: str) -> dict[str, str]:
    parser = FormParser()
    parser.feed(html)
    return parser.fields


def browser_login_and_consent(base: str, authorize_url: str, username: str, password: str = TEST_PASSWORD) -> str:
    """Plays the user's browser: login form with CSRF, consent page, returns the redirect Location."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/?next=")

    login_page = browser.get(base + response.headers["Location"])
    assert login_page.status_code == 200
    fields = form_fields(login_page.text)
    assert fields["csrfmiddlewaretoken"]
    fields.update(username=username, password=password)
    response = browser.post(login_page.url, data=fields, headers={"Referer": login_page.url}, allow_redirects=False)
    assert response.status_code == 302, "login refused"
    assert urlparse(response.headers["Location"]).path == "/o/authorize/"

    consent = browser.get(base + response.headers["Location"])
    assert consent.status_code == 200
    assert "Authorize" in consent.text
    fields = form_fields(consent.text)
    fields["allow"] = "Authorize"
    response = browser.post(consent.url, data=fields, headers={"Referer": consent.url}, allow_redirects=False)
    assert response.status_code == 302
    return response.headers["Location"]
