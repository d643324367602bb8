"""The README's browser login: Swagger UI's Authorize button, the login and consent pages in its popup, the code
handed back to the docs page, and a call with the token (issue 18: "Mismatching redirect URI", then a popup that
lost window.opener and never handed the code back)."""

import pytest
from django.test import override_settings

from apps.users.oauth_clients import demo_client_ensure
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_swagger_ui_authorize_then_try_it_out(live_server, page, host):
    base = live_server.url.replace("localhost", host)
    # The demo client as `make run` registers it, for this server's port (the defaults name :8000 and :5000).
    with override_settings(DEMO_REDIRECT_URIS=[f"{base}/api/docs/oauth2-redirect.html"]):
        demo_client_ensure()
    UserFactory(username="bob")

    page.goto(f"{base}/api/docs/")
    page.click("button.authorize")
    page.wait_for_selector(".modal-ux")
    page.snap("authorize-dialog")
    with page.expect_popup() as popup_info:
        page.click(".modal-ux button.modal-btn.authorize")
    popup = popup_info.value
    popup.set_default_timeout(15_000)
    popup.wait_for_selector("#id_username")
    popup.fill("#id_username", "bob")
    popup.fill("#id_password", TEST_PASSWORD)
    popup.click("button[type=submit]")
    popup.wait_for_selector("#authorizationForm")
    popup.click("input[name=allow]")

    # The popup hands the code to the docs page, which exchanges it at /o/token/ and shows "Logout".
    dialog = page.locator(".modal-ux")
    dialog.locator("button", has_text="Logout").wait_for()
    assert "Authorized" in dialog.inner_text()
    page.snap("authorized")
    dialog.locator("button.btn-done").click()

    operation = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/users/me/"])')
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    with page.expect_response(lambda r: r.url.endswith("/users/me/")) as answer:
        operation.locator("button.execute").click()
    page.snap("tried-it-out")
    assert answer.value.status == 200
    assert answer.value.json()["username"] == "bob"
    assert operation.locator(".live-responses-table tbody .response-col_status").first.inner_text().strip() == "200"
