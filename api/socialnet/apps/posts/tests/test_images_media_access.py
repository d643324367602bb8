"""GET /media/<key>: public posts' files cached briefly and revalidated, everything else only with a valid, unexpired
signature and never stored."""

import io
import time

import pytest
from PIL import Image as PILImage

from apps.follows.models import Follow
from apps.images.signing import sign_media_path
from apps.images.tests import samples
from apps.images.tests.helpers import path_of, ready_image
from apps.posts.models import Post
from apps.posts.services import post_create

pytestmark = pytest.mark.django_db


def fetch(client, url):
    response = client.get(path_of(url))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_unattached_image_urls_are_signed_and_serve_clean_upright_files(client_for, user, api_client):
    image = ready_image(user)
    urls = client_for(user).get(f"/images/{image.pk}/").json()["urls"]
    for name, url in urls.items():
        assert "sig=" in url and "exp=" in url, name
        response, body = fetch(api_client, url)  # the signature is the credential: no token needed
        assert response.status_code == 200, name
        assert response["Cache-Control"].startswith("private")
        assert response["X-Content-Type-Options"] == "nosniff"
        samples.assert_no_metadata(body)
        im = PILImage.open(io.BytesIO(body))
        assert im.size == (40, 60)  # orientation 6 applied: portrait
        assert samples.is_reddish(im.convert("RGB").getpixel((20, 5)))
    assert fetch(api_client, urls["small"])[0]["Content-Type"] == "image/webp"
    assert fetch(api_client, urls["original"])[0]["Content-Type"] == "image/jpeg"


def test_private_file_without_signature_is_403(client_for, user, api_client):
    image = ready_image(user)
    url = client_for(user).get(f"/images/{image.pk}/").json()["urls"]["large"]
    unsigned = path_of(url).split("?")[0]
    assert api_client.get(unsigned).status_code == 403
    # Not even the owner, with a token: media access is by URL, and this URL is not signed.
    assert client_for(user).get(unsigned).status_code == 403


def test_tampered_signature_is_403(client_for, user, api_client):
    image = ready_image(user)
    url = path_of(client_for(user).get(f"/images/{image.pk}/").json()["urls"]["medium"])
    sig = url.rsplit("sig=", 1)[1]
    tampered = url.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
    assert api_client.get(tampered).status_code == 403
    # A later expiry with the old signature is a forgery too.
    exp = url.split("exp=")[1].split("&")[0]
    assert api_client.get(url.replace(f"exp={exp}", f"exp={int(exp) + 3600}")).status_code == 403


def test_signature_of_one_file_does_not_open_another(client_for, user, other_user, api_client):
    mine = ready_image(user)
    theirs = ready_image(other_user)
    signed_mine = sign_media_path(mine.variant_key("small"))
    query = signed_mine.split("?", 1)[1]
    assert api_client.get(f"/media/{theirs.variant_key('small')}?{query}").status_code == 403


def test_expired_signed_url_is_403(user, api_client, settings):
    image = ready_image(user)
    key = image.variant_key("large")
    expired = sign_media_path(key, now=time.time() - 7200, ttl=3600)
    assert api_client.get(expired).status_code == 403
    assert api_client.get(sign_media_path(key)).status_code == 200


def test_ttl_comes_from_the_setting(user, settings):
    settings.MEDIA_URL_TTL_SECONDS = 120
    image = ready_image(user)
    url = sign_media_path(image.variant_key("large"))
    expires = int(url.split("exp=")[1].split("&")[0])
    assert time.time() + 60 < expires <= time.time() + 120 + 60


def test_unknown_and_raw_upload_keys_are_404(user, api_client):
    image = ready_image(user)
    for key in (
        f"{image.storage_prefix}/upload",
        f"{image.storage_prefix}/secret.txt",
        "images/0123456789abcdef0123456789abcdef/small.webp",
        "../settings.py",
        f"{image.storage_prefix}/../../etc/passwd",
    ):
        assert api_client.get(sign_media_path(key)).status_code == 404, key


def test_public_post_images_are_plain_cacheable_urls(client_for, user, api_client):
    image = ready_image(user)
    post = post_create(author=user, text="public", image_ids=[image.pk])
    body = api_client.get(f"/posts/{post.pk}/").json()
    urls = body["images"][0]["urls"]
    assert all("sig=" not in url for url in urls.values())
    response, data = fetch(api_client, urls["small"])
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public, max-age=")
    samples.assert_no_metadata(data)
    # Anonymous readers may also fetch the image object of a public post.
    assert api_client.get(f"/images/{image.pk}/").status_code == 200


def test_premium_post_images_never_reach_a_locked_viewer(client_for, user, other_user, premium_user, api_client):
    image = ready_image(user)
    post = post_create(author=user, text="premium", visibility=Post.Visibility.PREMIUM, image_ids=[image.pk])
    for client in (api_client, client_for(other_user)):
        body = client.get(f"/posts/{post.pk}/").json()
        assert body["locked"] is True
        assert body["images"] == []
        listed = client.get("/posts/").json()["results"]
        assert [p["images"] for p in listed if p["id"] == post.pk] == [[]]
        assert image.storage_prefix not in str(listed)
        assert client.get(f"/images/{image.pk}/").status_code == 404
        for key in image.served_keys().values():
            assert client.get(f"/media/{key}").status_code == 403

    body = client_for(premium_user).get(f"/posts/{post.pk}/").json()
    assert body["locked"] is False
    urls = body["images"][0]["urls"]
    assert all("sig=" in url for url in urls.values())  # premium content is never a plain URL
    assert fetch(api_client, urls["large"])[0].status_code == 200
    assert client_for(premium_user).get(f"/images/{image.pk}/").status_code == 200


def test_followers_only_images_are_hidden_from_non_followers(client_for, user, other_user, api_client):
    image = ready_image(user)
    post = post_create(author=user, text="friends", visibility=Post.Visibility.FOLLOWERS, image_ids=[image.pk])
    stranger = client_for(other_user)
    assert stranger.get(f"/images/{image.pk}/").status_code == 404
    assert api_client.get(f"/images/{image.pk}/").status_code == 404
    assert api_client.get(f"/media/{image.variant_key('small')}").status_code == 403

    Follow.objects.create(follower=other_user, followee=user)
    body = stranger.get(f"/posts/{post.pk}/").json()
    urls = body["images"][0]["urls"]
    assert all("sig=" in url for url in urls.values())
    assert fetch(api_client, urls["small"])[0].status_code == 200
    assert stranger.get(f"/images/{image.pk}/").status_code == 200


def test_images_of_a_post_that_turns_private_lose_their_plain_urls(client_for, user, api_client):
    image = ready_image(user)
    post = post_create(author=user, text="soon private", image_ids=[image.pk])
    plain = f"/media/{image.variant_key('medium')}"
    assert api_client.get(plain).status_code == 200
    client_for(user).patch(f"/posts/{post.pk}/", {"visibility": "followers"}, format="json")
    assert api_client.get(plain).status_code == 403


def test_images_of_a_deactivated_author_are_not_public(user, api_client):
    image = ready_image(user)
    post_create(author=user, text="public", image_ids=[image.pk])
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert api_client.get(f"/images/{image.pk}/").status_code == 404
    assert api_client.get(f"/media/{image.variant_key('small')}").status_code == 403


def test_media_view_only_answers_reads(user, api_client):
    image = ready_image(user)
    post_create(author=user, text="public", image_ids=[image.pk])
    assert api_client.post(f"/media/{image.variant_key('small')}").status_code == 405


# --- caching: public posts' media briefly and revalidated, everything else never stored ------------------------


def test_public_post_media_is_cached_briefly_and_revalidated(user, api_client, settings):
    settings.MEDIA_PUBLIC_CACHE_SECONDS = 60
    image = ready_image(user)
    post_create(author=user, text="public", image_ids=[image.pk])
    plain = f"/media/{image.variant_key('small')}"
    response, body = fetch(api_client, plain)
    assert response["Cache-Control"] == "public, max-age=60, must-revalidate"
    etag, last_modified = response["ETag"], response["Last-Modified"]
    assert etag.startswith('"') and body

    again = api_client.get(plain, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag and again["Cache-Control"] == "public, max-age=60, must-revalidate"
    assert not again.content
    assert api_client.get(plain, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert api_client.get(plain, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    # Each file has its own validator.
    assert fetch(api_client, f"/media/{image.variant_key('large')}")[0]["ETag"] != etag


def test_revalidation_after_the_post_turns_premium_is_refused_not_304(client_for, user, api_client):
    image = ready_image(user)
    post = post_create(author=user, text="public for now", image_ids=[image.pk])
    plain = f"/media/{image.variant_key('small')}"
    etag = api_client.get(plain)["ETag"]
    client_for(user).patch(f"/posts/{post.pk}/", {"visibility": "premium"}, format="json")
    # A shared cache asking whether its copy is still good gets a refusal, not a 304 that would extend it.
    assert api_client.get(plain, HTTP_IF_NONE_MATCH=etag).status_code == 403


def test_default_public_max_age_is_short():
    from django.conf import settings

    assert settings.MEDIA_PUBLIC_CACHE_SECONDS <= 300


def test_signed_and_avatar_media_are_never_stored(client_for, user, premium_user, api_client):
    image = ready_image(user)
    post = post_create(author=user, text="premium", visibility=Post.Visibility.PREMIUM, image_ids=[image.pk])
    urls = client_for(premium_user).get(f"/posts/{post.pk}/").json()["images"][0]["urls"]
    response, _ = fetch(api_client, urls["small"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "ETag" not in response

    avatar = ready_image(user)
    client_for(user).patch("/users/me/", {"avatar_id": avatar.pk}, format="json")
    small = api_client.get(f"/users/{user.username}/").json()["avatar"]["urls"]["small"]
    response, _ = fetch(api_client, small)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
