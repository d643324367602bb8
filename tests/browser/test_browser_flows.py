"""What a person does in a real browser: sign in and approve an app, and moderate from the Django admin."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from apps.moderation.models import Report
from apps.posts.tests.factories import PostFactory
from apps.users.oauth_clients import demo_client_ensure
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REDIRECT_URI = "http://127.0.0.1:8765/callback"


def test_user_signs_in_and_approves_the_app(live_server, page):
    demo_client_ensure()
    UserFactory(username="carol")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "socialnet-demo",
            "redirect_uri": REDIRECT_URI,
            "scope": "read write",
            "state": "browser-state",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    # Nothing listens on the callback port: capture the redirect instead of following it.
    captured = {}

    def capture(route):
        captured["url"] = route.request.url
        route.fulfill(status=200, body="ok")

    page.route("http://127.0.0.1:8765/**", capture)

    page.goto(f"{live_server.url}/o/authorize/?{query}")
    assert "/accounts/login/" in page.url
    page.snap("login-page")
    page.fill("#id_username", "carol")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#authorizationForm")
    page.snap("consent-page")
    assert "SocialNet demo client" in page.content()
    page.click("input[name=allow]")
    page.wait_for_function("() => true")
    for _ in range(50):
        if "url" in captured:
            break
        page.wait_for_timeout(100)
    page.snap("after-consent")

    params = parse_qs(urlparse(captured["url"]).query)
    assert captured["url"].startswith(REDIRECT_URI)
    assert params["state"] == ["browser-state"]
    assert params["code"][0]


def test_moderator_removes_a_reported_post_from_the_admin(live_server, page, client_for):
    moderator = UserFactory(username="mod", moderator=True)
    post = PostFactory(text="buy cheap watches")
    Report.objects.create(reporter=UserFactory(), target_type="post", target_id=post.pk, reason="spam")
    viewer = client_for(UserFactory())
    assert viewer.get(f"/posts/{post.pk}/").status_code == 200

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", moderator.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.snap("admin-index")

    page.goto(f"{live_server.url}/admin/moderation/report/?is_open__exact=1")
    page.snap("report-queue")
    assert "spam" in page.content().lower()
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", "remove_reported_content")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")
    page.snap("after-removal")
    assert "content removed" in page.inner_text("ul.messagelist")

    post.refresh_from_db()
    assert post.removed_at is not None
    assert viewer.get(f"/posts/{post.pk}/").status_code == 404
    assert b"buy cheap watches" not in viewer.get("/posts/").content
