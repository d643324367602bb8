"""Malformed input gets a 4xx on every kind of view (DRF, OAuth, media), never a 500."""

import pytest

from apps.images.tests.factories import ImageFactory
from apps.posts.tests.factories import PostFactory
from apps.users.oauth_clients import demo_client_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client):
    api_client.raise_request_exception = False  # see the response a real client would get
    return api_client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/users/a%00b/"),
        ("get", "/users/a%00b/followers/"),
        ("post", "/users/a%00b/follow/"),
        ("get", "/media/images/a%00b/small.webp"),
        ("get", "/posts/?author=a%00b"),
        ("get", "/o/authorize/?client_id=a%00b&response_type=code"),
    ],
)
def test_nul_in_path_or_query_is_400(client, client_for, user, method, path):
    response = getattr(client_for(user) if method == "post" else client, method)(path)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/o/token/", {"grant_type": "authorization_code", "client_id": "socialnet-demo", "code": "a\x00b"}),
        ("/o/token/", {"grant_type": "refresh_token", "client_id": "socialnet-demo", "refresh_token": "a\x00b"}),
        ("/o/revoke_token/", {"client_id": "socialnet-demo", "token": "a\x00b"}),
        ("/users/create/", {"username": "nul", "email": "nul@example.com", "password": "plum-tangerine-8\x007"}),
    ],
)
@pytest.mark.parametrize("encoding", ["json", "form"])
def test_nul_in_body_is_400(client, path, body, encoding):
    demo_client_ensure()
    if encoding == "json":
        response = client.post(path, body, format="json")
    else:
        from urllib.parse import urlencode

        response = client.generic("POST", path, urlencode(body), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_nul_in_a_post_text_changes_nothing(client_for, user):
    from apps.posts.models import Post

    response = client_for(user).post("/posts/", {"text": "hello\x00world"}, format="json")
    assert response.status_code == 400
    assert not Post.objects.exists()


def test_bearer_token_with_nul_is_401_or_400(client):
    client.credentials(HTTP_AUTHORIZATION="Bearer ab\x00cd")
    assert client.get("/posts/").status_code in (400, 401)


def test_media_signature_with_non_ascii_digits_is_403(client, user):
    post = PostFactory(author=user, visibility="followers")
    image = ImageFactory(owner=user, ready=True, post=post)
    response = client.get(f"/media/{image.variant_key('small')}", {"exp": "\u00b2", "sig": "x"})
    assert response.status_code == 403


def test_binary_multipart_uploads_are_not_mistaken_for_nul_input(client_for, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.images.tests import samples

    data = samples.jpeg_with_gps(orientation=1)
    assert b"\x00" in data
    upload = SimpleUploadedFile("photo.jpg", data, content_type="image/jpeg")
    assert client_for(user).post("/images/", {"file": upload}, format="multipart").status_code == 201
