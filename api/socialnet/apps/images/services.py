"""Every write to images: upload, processing, attaching to posts and avatars, deletion."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from apps.common.tasks import enqueue

from .models import Image
from .processing import ImageRejected, ImageRenderError, inspect_upload, render_image
from .storage import storage_delete_many, storage_put, storage_read

logger = logging.getLogger(__name__)


class ImageUploadRejected(APIException):
    """413/415 answers for uploads (400s are ValidationErrors on the `file` field)."""

    def __init__(self, message: str, status_code: int):
        self.status_code = status_code
        super().__init__(message)


def _reject(exc: ImageRejected):
    if exc.status == status.HTTP_400_BAD_REQUEST:
        return ValidationError({"file": [exc.message]})
    return ImageUploadRejected(exc.message, exc.status)


def image_create(*, owner, upload, alt_text: str = "") -> Image:
    """Validate an uploaded file and store it as a pending image; processing starts after commit.

    Nothing is written (no file, no row) unless the content is an acceptable image: the checks in
    `processing.inspect_upload` run on the bytes first. The size limit was already enforced while the body
    streamed (`uploads.SizeLimitedUploadHandler`); it is checked again here for callers that bypass HTTP.
    """
    if upload.size is not None and upload.size > settings.IMAGE_MAX_BYTES:
        raise _reject(ImageRejected("The file is too large.", status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE))
    upload.seek(0)
    data = upload.read(settings.IMAGE_MAX_BYTES + 1)
    if len(data) > settings.IMAGE_MAX_BYTES:
        raise _reject(ImageRejected("The file is too large.", status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE))
    try:
        info = inspect_upload(data, max_pixels=settings.IMAGE_MAX_PIXELS)
    except ImageRejected as exc:
        raise _reject(exc) from exc

    image = Image(
        owner=owner,
        source_format=info.format,
        source_bytes=len(data),
        alt_text=alt_text,
    )
    storage_put(image.upload_key, data)
    try:
        with transaction.atomic():
            image.save()
            _enqueue_processing(image.pk)
    except BaseException:
        storage_delete_many([image.upload_key])
        raise
    return image


def _enqueue_processing(image_id: int) -> None:
    from .tasks import image_process_task

    enqueue(image_process_task, image_id)


def _mark_failed(image_id: int, reason: str) -> None:
    Image.objects.filter(pk=image_id, status=Image.Status.PENDING).update(
        status=Image.Status.FAILED, failure_reason=reason[:255], processed_at=timezone.now()
    )


def image_process(*, image_id: int) -> Image | None:
    """Render a pending image's files and mark it ready, or failed with a reason. Idempotent.

    Safe to run any number of times, concurrently too: a ready, failed or deleted image is left alone, files go
    to deterministic keys (a second run overwrites them with identical bytes), and the final state change is a
    conditional UPDATE. Storage errors propagate so the task retries; undecodable content fails the image.
    Each run counts an attempt; past IMAGE_PROCESS_MAX_ATTEMPTS the image fails instead of looping forever.
    """
    max_attempts = settings.IMAGE_PROCESS_MAX_ATTEMPTS
    claimed = Image.objects.filter(pk=image_id, status=Image.Status.PENDING, attempts__lt=max_attempts).update(
        attempts=F("attempts") + 1
    )
    if not claimed:
        _mark_failed(image_id, "Processing failed repeatedly.")  # no-op unless pending with attempts used up
        return Image.objects.filter(pk=image_id).first()
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return None  # deleted between the claim and here: nothing written yet, nothing to do (was DoesNotExist)

    try:
        data = storage_read(image.upload_key)
    except FileNotFoundError:
        _mark_failed(image.pk, "The uploaded file is missing.")
        return Image.objects.filter(pk=image_id).first()
    try:
        rendered = render_image(data, image.source_format, max_pixels=settings.IMAGE_MAX_PIXELS)
    except ImageRenderError as exc:
        _mark_failed(image.pk, str(exc))
        storage_delete_many([image.upload_key])
        return Image.objects.filter(pk=image_id).first()

    written = [image.original_key(rendered.original_ext)]
    storage_put(written[0], rendered.original)
    for name, payload in rendered.variants.items():
        storage_put(image.variant_key(name), payload)
        written.append(image.variant_key(name))

    done = Image.objects.filter(pk=image.pk, status=Image.Status.PENDING).update(
        status=Image.Status.READY,
        width=rendered.width,
        height=rendered.height,
        blurhash=rendered.blurhash,
        original_ext=rendered.original_ext,
        failure_reason="",
        processed_at=timezone.now(),
    )
    if done:
        storage_delete_many([image.upload_key])  # the only file with the client's metadata in it
    elif not Image.objects.filter(pk=image.pk).exists():
        # Deleted while we were rendering: its delete already ran, so the files we just wrote are ours to remove.
        storage_delete_many([*written, image.upload_key])
    return Image.objects.filter(pk=image_id).first()


def _delete_files_after_commit(keys: list[str]) -> None:
    from .tasks import image_files_delete_task

    if keys:
        enqueue(image_files_delete_task, keys)


@transaction.atomic
def image_delete(*, image: Image) -> None:
    """Delete the image and, once that is committed, every file it has. An avatar using it becomes null."""
    keys = image.all_keys()
    image.delete()
    _delete_files_after_commit(keys)


def image_delete_orphans(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """Delete uploads never used: not attached to a post, not anyone's avatar, older than `older_than`.

    Clients upload first and post after; an upload abandoned in between would otherwise keep its files forever.
    Returns how many were deleted (at most `limit` per run; the next run continues).
    """
    if older_than is None:
        older_than = timedelta(hours=settings.IMAGE_ORPHAN_HOURS)
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        used_as_avatar = Exists(get_user_model().objects.filter(avatar_id=OuterRef("pk")))
        orphans = list(
            Image.objects.select_for_update(skip_locked=True)
            .filter(~used_as_avatar, post__isnull=True, created_at__lt=cutoff)
            .order_by("id")[:limit]
        )
        keys = [key for image in orphans for key in image.all_keys()]
        Image.objects.filter(pk__in=[image.pk for image in orphans]).delete()
        _delete_files_after_commit(keys)
    if orphans:
        logger.info("images: deleted %d unused upload(s)", len(orphans))
    return len(orphans)


@transaction.atomic
def images_delete_for_post(*, post_id: int) -> int:
    """Delete a post's images and (after commit) their files. Call it inside the post's delete transaction."""
    images = list(Image.objects.select_for_update().filter(post_id=post_id))
    keys = [key for image in images for key in image.all_keys()]
    Image.objects.filter(pk__in=[image.pk for image in images]).delete()
    _delete_files_after_commit(keys)
    return len(images)


def images_attach_to_post(*, post, image_ids: Sequence[int]) -> list[Image]:
    """Attach the author's images to a new post, in the given order. Must run inside the post's transaction.

    Each image must exist, belong to the post's author, not be failed, and not be attached to a post already.
    The rows are locked (SELECT ... FOR UPDATE) so two posts created at once cannot both take the same image.
    Unknown and foreign ids get the same message: a caller learns nothing about other users' images.
    """
    ids = list(image_ids)
    if not ids:
        return []
    if len(ids) > Image.MAX_PER_POST:
        raise ValidationError({"image_ids": [f"At most {Image.MAX_PER_POST} images per post."]})
    if len(set(ids)) != len(ids):
        raise ValidationError({"image_ids": ["The same image is listed more than once."]})
    images = {
        image.pk: image
        for image in Image.objects.select_for_update().filter(pk__in=ids, owner_id=post.author_id).order_by("pk")
    }
    avatar_ids = set(get_user_model().objects.filter(avatar_id__in=ids).values_list("avatar_id", flat=True))
    missing = [image_id for image_id in ids if image_id not in images]
    if missing:
        raise ValidationError({"image_ids": [f"Unknown image id(s): {', '.join(map(str, missing))}."]})
    for image_id in ids:
        image = images[image_id]
        if image.post_id is not None:
            raise ValidationError({"image_ids": [f"Image {image_id} is already attached to a post."]})
        if image_id in avatar_ids:  # public as an avatar: attaching it would publish a premium post's image
            raise ValidationError({"image_ids": [f"Image {image_id} is your avatar; upload it again for a post."]})
        if image.status == Image.Status.FAILED:
            raise ValidationError({"image_ids": [f"Image {image_id} could not be processed and cannot be used."]})
    ordered = []
    now = timezone.now()
    for position, image_id in enumerate(ids):
        image = images[image_id]
        image.post = post
        image.position = position
        image.updated_at = now
        ordered.append(image)
    Image.objects.bulk_update(ordered, ["post", "position", "updated_at"])
    return ordered


def image_for_avatar(*, user, image_id: int | None) -> Image | None:
    """The image a user may set as avatar: their own, not failed. None clears the avatar."""
    if image_id is None:
        return None
    # Locked: a post attaching this image at the same moment waits, then sees it is an avatar (and vice versa).
    image = (
        Image.objects.select_for_update()
        .filter(pk=image_id, owner_id=user.pk)
        .exclude(status=Image.Status.FAILED)
        .first()
    )
    if image is None:
        raise ValidationError({"avatar_id": ["Unknown image, or not one of yours."]})
    # Avatars are public; an image of a post (maybe premium or followers-only) must not become one.
    if image.post_id is not None:
        raise ValidationError({"avatar_id": ["This image belongs to a post; upload a separate image for the avatar."]})
    return image
