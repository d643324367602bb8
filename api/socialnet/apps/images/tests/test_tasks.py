"""Processing and sweeping as the media worker runs them: idempotent, bounded, never losing an image."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.common.models import OutboxEvent
from apps.common.outbox import outbox_sweep
from apps.images import services
from apps.images.models import Image
from apps.images.tasks import image_files_delete_task, image_process_task

from . import samples

pytestmark = pytest.mark.django_db


def pending(owner, data=None) -> Image:
    upload = SimpleUploadedFile("x.jpg", data or samples.jpeg_with_gps(orientation=6), content_type="image/jpeg")
    with_commit = services.image_create(owner=owner, upload=upload)
    return Image.objects.get(pk=with_commit.pk)


def test_processing_twice_is_harmless(user, media_root):
    image = pending(user)
    services.image_process(image_id=image.pk)
    image.refresh_from_db()
    files = {key: (media_root / key).read_bytes() for key in image.served_keys().values()}
    services.image_process(image_id=image.pk)  # a duplicate delivery
    image.refresh_from_db()
    assert image.status == Image.Status.READY
    assert image.attempts == 1  # the second run saw a ready image and did nothing
    assert {key: (media_root / key).read_bytes() for key in image.served_keys().values()} == files


def test_a_retry_after_a_crash_overwrites_the_same_keys(user, media_root):
    image = pending(user)
    # A first run that died after writing files but before marking the image ready:
    services.image_process(image_id=image.pk)
    image.refresh_from_db()
    written = samples.stored_files(media_root)
    Image.objects.filter(pk=image.pk).update(status=Image.Status.PENDING)
    (media_root / image.upload_key).parent.mkdir(parents=True, exist_ok=True)
    (media_root / image.upload_key).write_bytes(samples.jpeg_with_gps(orientation=6))
    services.image_process(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.READY
    assert samples.stored_files(media_root) == written  # same keys, no duplicates like small_aB3x.webp


def test_processing_a_deleted_image_does_nothing(user, media_root):
    image = pending(user)
    image_id = image.pk
    services.image_delete(image=image)
    assert services.image_process(image_id=image_id) is None
    assert not Image.objects.filter(pk=image_id).exists()


def test_attempts_are_bounded(user, settings):
    image = pending(user)
    Image.objects.filter(pk=image.pk).update(attempts=settings.IMAGE_PROCESS_MAX_ATTEMPTS)
    image_process_task.delay(image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert "repeatedly" in image.failure_reason


def test_missing_upload_fails_the_image(user, media_root):
    image = pending(user)
    (media_root / image.upload_key).unlink()
    services.image_process(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert "missing" in image.failure_reason


def test_an_upload_whose_task_never_reached_the_broker_is_processed_by_the_outbox_sweep(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the after-commit publish is lost
        image = pending(user)
    fresh = pending(user)
    OutboxEvent.objects.filter(args=[image.pk]).update(relay_after=timezone.now())
    assert outbox_sweep() == 1
    image.refresh_from_db()
    fresh.refresh_from_db()
    assert image.status == Image.Status.READY  # the relayed task ran (eagerly here) and deleted its row
    assert fresh.status == Image.Status.PENDING  # not due yet: its own publish is still on its way
    assert list(OutboxEvent.objects.values_list("args", flat=True)) == [[fresh.pk]]


def test_tasks_go_to_the_media_queue():
    from celery import current_app as app

    for task in (image_process_task, image_files_delete_task):
        route = app.amqp.router.route({}, task.name)
        assert route["queue"].name == "media"


def test_unused_uploads_are_deleted_with_their_files(user, media_root, django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(hours=48)
    abandoned = pending(user)
    on_post = pending(user)
    avatar = pending(user)
    fresh = pending(user)
    # A post row made through the relation User has from the posts app (images sits below posts).
    Image.objects.filter(pk=on_post.pk).update(post=user.posts.create(text="with an image"))
    user.avatar = avatar
    user.save(update_fields=["avatar"])
    Image.objects.exclude(pk=fresh.pk).update(created_at=old)
    assert (media_root / abandoned.upload_key).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.image_delete_orphans() == 1

    assert set(Image.objects.values_list("pk", flat=True)) == {on_post.pk, avatar.pk, fresh.pk}
    assert not (media_root / abandoned.upload_key).exists()
