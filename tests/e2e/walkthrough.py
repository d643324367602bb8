"""The README walkthrough, played through the gateway by a real OAuth client (Authlib) — shared by both modes."""

from __future__ import annotations

import io
import time
import uuid

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from PIL import Image as PILImage

from apps.users.tests.oauth_browser import browser_login_and_consent, pkce_session

REDIRECT_URI = "http://127.0.0.1:8765/callback"
PASSWORD = "plum-tangerine-87-orbit"


def eventually(check, *, timeout: float = 20.0, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def register(base: str, username: str) -> None:
    response = requests.post(
        f"{base}/users/create/",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def login(base: str, username: str) -> OAuth2Session:
    client = pkce_session(REDIRECT_URI)
    verifier = generate_token(64)
    url, _ = client.create_authorization_url(f"{base}/o/authorize/", code_verifier=verifier)
    location = browser_login_and_consent(base, url, username, password=PASSWORD)
    client.fetch_token(f"{base}/o/token/", authorization_response=location, code_verifier=verifier)
    return client


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (1600, 900), (40, 120, 200)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def play(base: str, *, grant_premium) -> None:
    """Every step asserts what a user of the API would see. `grant_premium(username)` is the operator's step."""
    suffix = uuid.uuid4().hex[:6]
    writer, reader = f"erin{suffix}", f"finn{suffix}"
    register(base, writer)
    register(base, reader)
    # Swagger UI and its OAuth2 redirect page (a registered redirect URI of the demo client) are served.
    docs = requests.get(f"{base}/api/docs/", timeout=10)
    assert docs.status_code == 200 and "socialnet-demo" in docs.text
    redirect_page = requests.get(f"{base}/api/docs/oauth2-redirect.html", timeout=10)
    assert redirect_page.status_code == 200
    erin, finn = login(base, writer), login(base, reader)
    assert erin.get(f"{base}/users/me/").json()["username"] == writer

    # An image: uploaded, processed on the media queue, variants served as WebP.
    upload = erin.post(
        f"{base}/images/", files={"file": ("photo.jpg", jpeg_bytes(), "image/jpeg")}, data={"alt_text": "sky"}
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["status"] == "pending"
    image_id = upload.json()["id"]
    image = eventually(
        lambda: (body := erin.get(f"{base}/images/{image_id}/").json())["status"] == "ready" and body,
        what="image ready",
    )
    assert (image["width"], image["height"]) == (1600, 900)
    assert image["urls"]["small"].startswith(base), "media URLs point at the gateway the client used"
    small = requests.get(image["urls"]["small"], timeout=10)
    assert small.status_code == 200 and small.headers["Content-Type"] == "image/webp"
    assert max(PILImage.open(io.BytesIO(small.content)).size) <= 320

    # Follow, then a post appears in the follower's home feed.
    assert finn.post(f"{base}/users/{writer}/follow/").status_code == 201
    post = erin.post(f"{base}/posts/", json={"text": "Hello from the walkthrough", "image_ids": [image_id]})
    assert post.status_code == 201, post.text
    post_id = post.json()["id"]
    assert post.json()["images"][0]["id"] == image_id
    eventually(
        lambda: post_id in [p["id"] for p in finn.get(f"{base}/feed/").json()["results"]],
        what="post in follower's feed",
    )

    # Like and comment; the author is notified (off the request path).
    assert finn.post(f"{base}/posts/{post_id}/like/").status_code == 201
    comment = finn.post(f"{base}/posts/{post_id}/comments/", json={"text": "Great shot!"})
    assert comment.status_code == 201, comment.text
    assert erin.get(f"{base}/posts/{post_id}/").json()["likes_count"] == 1
    kinds = eventually(
        lambda: (
            {
                n["type"]
                for n in erin.get(f"{base}/notifications/").json()["results"]
                if n["actor"]["username"] == reader
            }
            >= {"follow", "like", "comment"}
            and True
        ),
        what="follow, like and comment notifications",
    )
    assert kinds
    assert erin.get(f"{base}/notifications/unread_count/").json()["count"] >= 3

    # Premium content: locked for a reader who is not premium, open once they are.
    premium = erin.post(f"{base}/posts/", json={"text": "premium secret recipe", "visibility": "premium"})
    assert premium.status_code == 201
    locked = finn.get(f"{base}/posts/{premium.json()['id']}/")
    assert locked.status_code == 200
    assert locked.json()["locked"] is True and locked.json()["text"] == "" and locked.json()["images"] == []
    assert "premium secret recipe" not in finn.get(f"{base}/posts/?author={writer}").text
    assert finn.post(f"{base}/posts/{premium.json()['id']}/like/").status_code == 403
    grant_premium(reader)
    assert finn.get(f"{base}/posts/{premium.json()['id']}/").json()["text"] == "premium secret recipe"

    # Revoking the token: refused everywhere within the gateway's cache TTL (30 s at most).
    token = finn.token["access_token"]
    revoked = requests.post(f"{base}/o/revoke_token/", data={"token": token, "client_id": "socialnet-demo"}, timeout=10)
    assert revoked.status_code == 200
    eventually(
        lambda: (
            requests.get(f"{base}/users/me/", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
            == 401
        ),
        timeout=35,
        interval=1,
        what="revoked token refused",
    )
