"""POST/GET /users/me/export/ and the download (API.md, Account lifecycle): the ZIP opens, its JSON matches the
database, and nothing of other users' private or premium content is in it."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from apps.comments.models import Comment
from apps.follows.models import Follow
from apps.images.models import Image
from apps.images.tests import samples
from apps.interactions.models import Like
from apps.posts.models import Post
from apps.privacy import services
from apps.privacy.models import DataExport
from apps.safety.models import Block, Mute
from apps.users.tests.factories import UserFactory
from apps.users.tests.lifecycle_support import LaterClock

pytestmark = pytest.mark.django_db

FILES = {"profile.json", "posts.json", "comments.json", "likes.json", "following.json", "followers.json"}
FILES |= {"blocks.json", "mutes.json"}


@pytest.fixture
def exporter(user, other_user, client_for, django_capture_on_commit_callbacks):
    """`user` with a post and an image, a comment and a like on other_user's premium post, follows both ways."""
    client = client_for(user)
    secret = Post.objects.create(author=other_user, text="premium secret words", visibility="premium")
    with django_capture_on_commit_callbacks(execute=True):
        upload = SimpleUploadedFile("p.jpg", samples.jpeg_bytes(), content_type="image/jpeg")
        image_id = client.post("/images/", {"file": upload}, format="multipart").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/posts/", {"text": "my own post", "image_ids": [image_id]}, format="json")
        client.post(f"/users/{other_user.username}/follow/")
        client_for(other_user).post(f"/users/{user.username}/follow/")
    Comment.objects.create(post=secret, author=user, text="my comment on a locked post")
    Like.objects.create(post=secret, user=user)
    Block.objects.create(blocker=user, blocked=UserFactory(username="pest"))
    Block.objects.create(blocker=UserFactory(username="blocks_me"), blocked=user)  # theirs, not in the export
    Mute.objects.create(muter=user, muted=UserFactory(username="noisy"), notifications=False)
    return client


def export_now(client, capture):
    with capture(execute=True):
        response = client.post("/users/me/export/")
    assert response.status_code == 202, response.content
    return response


def download(url):
    response = Client().get(url)
    assert response.status_code == 200, response.content
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def read(archive, name):
    return json.loads(archive.read(name))


def test_export_zip_matches_the_database_and_leaks_nothing(exporter, user, django_capture_on_commit_callbacks):
    response = export_now(exporter, django_capture_on_commit_callbacks)
    # The whole DataExport its schema documents (it answered only id and status); no link while pending.
    assert set(response.json()) == {"id", "status", "created_at", "url"} and response.json()["status"] == "pending"
    assert response.json()["url"] is None
    latest = exporter.get("/users/me/export/").json()
    assert latest["status"] == "ready" and latest["id"] == response.json()["id"]
    assert "/exports/download/?token=" in latest["url"]
    archive = download(latest["url"])
    assert set(archive.namelist()) >= FILES

    (profile,) = read(archive, "profile.json")
    assert (profile["username"], profile["email"], profile["id"]) == (user.username, user.email, user.pk)
    posts = read(archive, "posts.json")
    assert [p["id"] for p in posts] == list(
        Post.objects.filter(author=user).order_by("id").values_list("id", flat=True)
    )
    assert posts[0]["text"] == "my own post"
    (image,) = posts[0]["images"]
    original = Image.objects.get(pk=image["id"])
    with default_storage.open(original.original_key(), "rb") as fh:
        assert archive.read(image["file"]) == fh.read()
    comments = read(archive, "comments.json")
    assert [c["text"] for c in comments] == ["my comment on a locked post"]
    likes = read(archive, "likes.json")
    assert [like["post_id"] for like in likes] == list(Like.objects.filter(user=user).values_list("post_id", flat=True))
    following = {f["username"] for f in read(archive, "following.json")}
    assert following == set(Follow.objects.filter(follower=user).values_list("followee__username", flat=True))
    followers = {f["username"] for f in read(archive, "followers.json")}
    assert followers == set(Follow.objects.filter(followee=user).values_list("follower__username", flat=True))
    assert [b["username"] for b in read(archive, "blocks.json")] == ["pest"]
    (mute,) = read(archive, "mutes.json")
    assert (mute["username"], mute["notifications"], mute["expires_at"]) == ("noisy", False, None)
    everything = b"".join(archive.read(name) for name in archive.namelist() if name.endswith(".json"))
    assert b"blocks_me" not in everything  # who blocks the user is the other person's data
    assert b"premium secret words" not in everything  # the locked post's text is not the user's data


def test_one_export_per_day(exporter, django_capture_on_commit_callbacks):
    export_now(exporter, django_capture_on_commit_callbacks)
    again = exporter.post("/users/me/export/")
    assert again.status_code == 429 and int(again["Retry-After"]) > 23 * 3600
    assert DataExport.objects.count() == 1
    DataExport.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert exporter.post("/users/me/export/").status_code == 202


def test_a_failed_export_does_not_block_the_next(user, client_for):
    DataExport.objects.create(user=user, status=DataExport.Status.FAILED)
    assert client_for(user).post("/users/me/export/").status_code == 202


def test_nobody_else_sees_or_downloads_an_export(
    exporter, other_user, client_for, api_client, django_capture_on_commit_callbacks
):
    export_now(exporter, django_capture_on_commit_callbacks)
    assert client_for(other_user).get("/users/me/export/").status_code == 404  # they have none; never someone else's
    assert api_client.get("/users/me/export/").status_code == 401
    export = DataExport.objects.get()
    forged = signing.TimestampSigner(salt="someone-else", sep=".").sign(str(export.pk))
    for token in ["", "1", str(export.pk), forged, "x" * 300]:
        assert Client().get("/exports/download/", {"token": token}).status_code == 403


def test_download_link_expires(exporter, django_capture_on_commit_callbacks, monkeypatch, settings):
    export_now(exporter, django_capture_on_commit_callbacks)
    url = exporter.get("/users/me/export/").json()["url"]
    monkeypatch.setattr(signing, "time", LaterClock(settings.MEDIA_URL_TTL_SECONDS + 5))
    assert Client().get(url).status_code == 403


def test_old_exports_are_deleted_with_their_files(exporter, django_capture_on_commit_callbacks):
    export_now(exporter, django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    assert default_storage.exists(export.storage_key)
    assert services.data_exports_delete_old() == 0
    DataExport.objects.update(created_at=timezone.now() - timedelta(days=7, minutes=1))
    assert services.data_exports_delete_old() == 1
    assert not default_storage.exists(export.storage_key) and not DataExport.objects.exists()


def test_exports_of_an_erased_account_go_with_it(exporter, user, django_capture_on_commit_callbacks):
    export_now(exporter, django_capture_on_commit_callbacks)
    key = DataExport.objects.get().storage_key
    services.user_erase(user_id=user.pk)
    assert not DataExport.objects.exists() and not default_storage.exists(key)


def test_other_users_are_not_exported(exporter, user, django_capture_on_commit_callbacks):
    stranger = UserFactory()
    Post.objects.create(author=stranger, text="stranger's words")
    export_now(exporter, django_capture_on_commit_callbacks)
    archive = download(exporter.get("/users/me/export/").json()["url"])
    assert [b["username"] for b in read(archive, "blocks.json")] == ["pest"]
    (mute,) = read(archive, "mutes.json")
    assert (mute["username"], mute["notifications"], mute["expires_at"]) == ("noisy", False, None)
    everything = b"".join(archive.read(name) for name in archive.namelist() if name.endswith(".json"))
    assert b"blocks_me" not in everything  # who blocks the user is the other person's data
    assert b"stranger's words" not in everything and stranger.email.encode() not in everything
