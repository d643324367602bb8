"""What Swagger UI's Authorize popup needs from the server (the browser test in tests/browser plays it all)."""

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from apps.users.oauth_clients import demo_client_ensure
from apps.users.tests.test_oauth_refusals import authorize_params

pytestmark = pytest.mark.django_db


def test_the_redirect_page_is_served_where_swagger_ui_sends_users():
    page = Client().get("/api/docs/oauth2-redirect.html")
    assert page.status_code == 200
    assert b"swagger-ui-dist/oauth2-redirect.js" in page.content
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/oauth2-redirect.js")


@pytest.mark.parametrize(
    "origin", ["http://localhost:8000", "http://127.0.0.1:8000", "http://localhost:5000", "http://127.0.0.1:5000"]
)
def test_the_demo_client_registers_it_on_both_ports_and_hosts(origin):
    assert f"{origin}/api/docs/oauth2-redirect.html" in settings.DEMO_REDIRECT_URIS


def test_docs_login_and_consent_pages_share_one_opener_policy(user):
    # Different policies put the popup in another browsing context group: window.opener is gone.
    docs = Client().get("/api/docs/")
    login = Client().get("/accounts/login/")
    demo_client_ensure()
    browser = Client()
    browser.force_login(user)
    consent = browser.get("/o/authorize/", authorize_params("v" * 50))
    assert consent.status_code == 200
    redirect_page = Client().get("/api/docs/oauth2-redirect.html")
    policies = {
        docs["Cross-Origin-Opener-Policy"],
        login["Cross-Origin-Opener-Policy"],
        consent["Cross-Origin-Opener-Policy"],
        redirect_page["Cross-Origin-Opener-Policy"],
    }
    assert policies == {"same-origin"}
