"""Through the real broker: a Celery worker consuming the `media` queue over Redis processes an upload."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.common.testing.celery_worker import wait_until
from apps.images.models import Image
from apps.users.tests.factories import UserFactory

from . import samples


@pytest.mark.django_db(transaction=True)
def test_upload_becomes_ready_through_the_media_queue(celery_worker, client_for, media_root):
    user = UserFactory()
    client = client_for(user)
    response = client.post(
        "/images/",
        {"file": SimpleUploadedFile("p.jpg", samples.jpeg_with_gps(orientation=6, width=1600, height=1200))},
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    image_id = response.json()["id"]

    wait_until(
        lambda: Image.objects.filter(pk=image_id, status=Image.Status.READY).exists(),
        timeout=20,
        message="the media worker to process the image",
    )
    body = client.get(f"/images/{image_id}/").json()
    assert (body["width"], body["height"]) == (1200, 1600)
    assert samples.stored_files(media_root) == sorted(Image.objects.get(pk=image_id).served_keys().values())
