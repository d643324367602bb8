"""What a person does with the emails of the account lifecycle: open the link from the message in a real browser,
use the page it lands on, and sign in with the new password."""

import pytest
import requests

from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.mailbox import link_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "velvet-quarry-51-lantern"


def test_forgotten_password_is_reset_from_the_emailed_link(live_server, page, mailbox, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    user = UserFactory(username="forgetful")
    assert requests.post(f"{live_server.url}/users/password-reset/", json={"email": user.email}).status_code == 202
    link = link_in(mailbox.wait_for(user.email)[0], "/accounts/reset-password/")

    page.goto(link)
    page.snap("reset-page")
    page.fill("#id_new_password", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Your password is changed")
    page.snap("reset-done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(TEST_PASSWORD)

    page.goto(link)  # the same link a second time
    page.fill("#id_new_password", "another-" + NEW_PASSWORD)
    page.fill("#id_new_password2", "another-" + NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".errors")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "forgetful")
    page.fill("#id_password", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/api/docs/**")


def test_address_is_confirmed_from_the_signup_email(live_server, page, mailbox, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    body = {"username": "newcomer", "email": "newcomer@example.com", "password": NEW_PASSWORD}
    assert requests.post(f"{live_server.url}/users/create/", json=body).status_code == 201
    page.goto(link_in(mailbox.wait_for("newcomer@example.com")[0], "/accounts/verify-email/"))
    assert not User.objects.get(username="newcomer").email_verified  # opening the page alone verifies nothing
    page.click("button[type=submit]")
    page.wait_for_selector("text=your email address is confirmed")
    page.snap("verified")
    assert User.objects.get(username="newcomer").email_verified
