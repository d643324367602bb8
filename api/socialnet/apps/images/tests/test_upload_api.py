"""POST /images/, GET and DELETE /images/{id}/: validation before storage, processing, ownership."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from apps.images import processing
from apps.images.models import Image
from apps.images.uploads import SizeLimitedUploadHandler, UploadTooLarge

from . import samples

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, *, name: str = "photo.jpg", content_type: str = "image/jpeg", field="file", **extra):
    return client.post(
        "/images/", {field: SimpleUploadedFile(name, data, content_type=content_type), **extra}, format="multipart"
    )


def test_upload_answers_pending_then_processing_makes_it_ready(
    client_for, user, media_root, django_capture_on_commit_callbacks
):
    client = client_for(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, samples.jpeg_with_gps(orientation=6, width=900, height=600), alt_text="a dog")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["alt_text"] == "a dog"
    assert body["urls"] == {"original": None, "small": None, "medium": None, "large": None}
    assert set(body) == {"id", "status", "width", "height", "blurhash", "alt_text", "urls"}
    image = Image.objects.get(pk=body["id"])
    assert image.owner == user and image.source_format == "jpeg"
    assert samples.stored_files(media_root) == [image.upload_key]
    assert len(callbacks) == 1  # processing is enqueued only once the row is committed

    callbacks[0]()  # the media task, run in-process (eager)

    body = client.get(f"/images/{image.pk}/").json()
    assert body["status"] == "ready"
    assert (body["width"], body["height"]) == (600, 900)
    assert len(body["blurhash"]) == 28
    assert all(body["urls"][name] for name in ("original", "small", "medium", "large"))
    image.refresh_from_db()
    # The raw upload (with GPS in it) is gone; only cleaned files remain.
    assert samples.stored_files(media_root) == sorted(image.served_keys().values())


def test_upload_needs_a_token(api_client, media_root):
    response = upload(api_client, samples.jpeg_bytes())
    assert response.status_code == 401
    assert Image.objects.count() == 0


def test_upload_needs_the_write_scope(client_for, user, media_root):
    response = upload(client_for(user, scope="read"), samples.jpeg_bytes())
    assert response.status_code == 403
    assert Image.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "name", "content_type", "status", "fragment"),
    [
        (b"", "empty.jpg", "image/jpeg", 400, "empty"),
        (b"<html><script>alert(1)</script></html>", "cat.jpg", "image/jpeg", 415, "Unsupported"),
        (b"hello, I am plain text", "cat.png", "image/png", 415, "Unsupported"),
        (samples.jpeg_bytes(samples.two_tone(300, 200))[:900], "cut.jpg", "image/jpeg", 400, "truncated"),
        (samples.png_declaring(50_000, 50_000), "bomb.png", "image/png", 413, "megapixels"),
        (samples.gif_declaring(65_535, 65_535), "bomb.gif", "image/gif", 413, "megapixels"),
        (samples.jpeg_bytes() + b"PK\x03\x04zip", "polyglot.jpg", "image/jpeg", 400, "after the end"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message_and_nothing_is_stored(
    client_for, user, media_root, data, name, content_type, status, fragment
):
    response = upload(client_for(user), data, name=name, content_type=content_type)
    assert response.status_code == status, response.content
    body = response.json()
    message = body["file"][0] if "file" in body else body["detail"]
    assert fragment in message
    assert Image.objects.count() == 0
    assert samples.stored_files(media_root) == []


def test_the_client_mime_type_and_name_are_ignored(client_for, user, media_root, django_capture_on_commit_callbacks):
    # A real PNG sent as "photo.jpg", image/jpeg: stored as what it is.
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client_for(user), samples.png_with_alpha(), name="photo.jpg", content_type="image/jpeg")
    assert response.status_code == 201
    image = Image.objects.get()
    assert image.source_format == "png"
    assert image.original_ext == "png"


@pytest.mark.parametrize("payload", [{}, {"image": "x"}, {"alt_text": "no file"}])
def test_missing_or_misnamed_field(client_for, user, payload, media_root):
    response = client_for(user).post("/images/", payload, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()
    assert Image.objects.count() == 0


def test_misnamed_file_field(client_for, user, media_root):
    response = upload(client_for(user), samples.jpeg_bytes(), field="image")
    assert response.status_code == 400
    assert "No file was submitted" in response.json()["file"][0]
    assert samples.stored_files(media_root) == []


def test_json_body_is_unsupported_media(client_for, user):
    response = client_for(user).post("/images/", {"file": "aGVsbG8="}, format="json")
    assert response.status_code == 415


def test_alt_text_is_limited(client_for, user, media_root):
    response = upload(client_for(user), samples.jpeg_bytes(), alt_text="x" * 1001)
    assert response.status_code == 400
    assert "alt_text" in response.json()
    assert samples.stored_files(media_root) == []


def test_files_over_the_byte_limit_get_413_and_nothing_is_stored(client_for, user, settings, media_root):
    data = samples.jpeg_bytes(PILImage.effect_noise((300, 300), 80).convert("RGB"), quality=95)
    # Just over the limit: the Content-Length shortcut cannot tell, the streaming count must.
    settings.IMAGE_MAX_BYTES = len(data) - 1000
    response = upload(client_for(user), data)
    assert response.status_code == 413
    assert "at most" in response.json()["detail"]
    # Far over the limit: refused from the announced length.
    settings.IMAGE_MAX_BYTES = 1000
    assert upload(client_for(user), data).status_code == 413
    assert Image.objects.count() == 0
    assert samples.stored_files(media_root) == []


def test_a_declared_content_length_over_the_limit_is_refused_before_reading_the_body(settings):
    settings.IMAGE_MAX_BYTES = 1000
    handler = SizeLimitedUploadHandler()
    stream = io.BytesIO(b"")  # never read
    with pytest.raises(UploadTooLarge):
        handler.handle_raw_input(stream, {}, 10_000_000, b"boundary")
    assert stream.tell() == 0


def test_the_upload_handler_stops_at_the_first_chunk_past_the_limit(settings):
    settings.IMAGE_MAX_BYTES = 1000
    handler = SizeLimitedUploadHandler()
    handler.handle_raw_input(io.BytesIO(), {}, None, b"boundary")  # chunked: no length announced
    assert handler.receive_data_chunk(b"x" * 600, 0) == b"x" * 600
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 600, 600)


def test_undecodable_upload_ends_failed_with_a_reason(client_for, user, media_root, django_capture_on_commit_callbacks):
    client = client_for(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        image_id = upload(client, samples.jpeg_bytes()).json()["id"]
    # The stored upload rots before the worker gets to it (a disk error, a bad copy): processing must fail cleanly.
    image = Image.objects.get(pk=image_id)
    path = media_root / image.upload_key
    path.write_bytes(path.read_bytes()[:200] + b"\x00" * 50)
    callbacks[0]()
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.failure_reason
    body = client.get(f"/images/{image_id}/").json()
    assert body["status"] == "failed"
    assert body["urls"]["original"] is None
    assert samples.stored_files(media_root) == []


# --- reading and deleting -------------------------------------------------------------------------------------


@pytest.fixture
def pending_image(client_for, user, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = upload(client_for(user), samples.jpeg_bytes())
    return Image.objects.get(pk=response.json()["id"])


def test_owner_reads_their_pending_image(client_for, user, pending_image):
    response = client_for(user).get(f"/images/{pending_image.pk}/")
    assert response.status_code == 200
    assert response.json()["status"] == "pending"


def test_another_user_cannot_read_or_delete_a_pending_image(client_for, other_user, pending_image, media_root):
    client = client_for(other_user)
    assert client.get(f"/images/{pending_image.pk}/").status_code == 404
    assert client.delete(f"/images/{pending_image.pk}/").status_code == 404
    assert Image.objects.filter(pk=pending_image.pk).exists()
    assert samples.stored_files(media_root) == [pending_image.upload_key]


def test_anonymous_cannot_read_an_unattached_image(api_client, pending_image):
    assert api_client.get(f"/images/{pending_image.pk}/").status_code == 404


def test_unknown_image_is_404(client_for, user):
    assert client_for(user).get("/images/999999/").status_code == 404
    assert client_for(user).delete("/images/999999/").status_code == 404


def test_owner_deletes_an_image_and_its_files(client_for, user, media_root, django_capture_on_commit_callbacks):
    client = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        image_id = upload(client, samples.jpeg_bytes()).json()["id"]
    assert len(samples.stored_files(media_root)) == 4  # original + 3 variants
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/images/{image_id}/")
    assert response.status_code == 204
    assert not Image.objects.filter(pk=image_id).exists()
    assert samples.stored_files(media_root) == []
    assert client.get(f"/images/{image_id}/").status_code == 404


@pytest.mark.parametrize(
    ("make", "fmt", "original_ext"),
    [
        (samples.png_with_alpha, "png", "png"),
        (samples.animated_gif, "gif", "png"),
        (samples.webp_bytes, "webp", "webp"),
        (lambda: samples.png_bytes(PILImage.new("RGB", (1, 1), (1, 2, 3))), "png", "png"),
        pytest.param(
            samples.heic_bytes,
            "heic",
            "jpg",
            marks=pytest.mark.skipif(not processing.HEIC_SUPPORTED, reason="pillow-heif is not installed"),
        ),
    ],
)
def test_every_accepted_format_goes_through_upload_and_processing(
    client_for, user, media_root, django_capture_on_commit_callbacks, make, fmt, original_ext
):
    client = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, make(), name="upload.bin", content_type="application/octet-stream")
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["id"])
    assert (image.source_format, image.status, image.original_ext) == (fmt, Image.Status.READY, original_ext)
    assert client.get(f"/images/{image.pk}/").json()["urls"]["original"].split("?")[0].endswith(f".{original_ext}")
