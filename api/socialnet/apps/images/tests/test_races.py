"""An image deleted while its processing task runs: the task stops quietly and no file is left behind.

The interleaving is deterministic: the storage (Django's FileSystemStorage) deletes the image the way
`DELETE /images/{id}/` does, at the moment processing writes its first variant, then lets processing go on."""

import logging

import pytest
from django.core.files.storage import FileSystemStorage

from apps.images import services
from apps.images.models import Image
from apps.images.storage import storage_put
from apps.images.tasks import image_process_task

from . import samples
from .factories import ImageFactory


class DeleteOnFirstVariant(FileSystemStorage):
    image_id: int | None = None  # set by the test: the image to delete when its first variant is written

    def _save(self, name, content):
        saved = super()._save(name, content)
        if self.image_id is not None and name.endswith(".webp"):
            image = Image.objects.get(pk=type(self).image_id)
            type(self).image_id = None
            services.image_delete(image=image)  # commits; its files task runs at once (eager) and removes them
        return saved


@pytest.mark.django_db(transaction=True)
def test_an_image_deleted_while_it_is_processed_leaves_no_file_and_no_error(user, media_root, settings, caplog):
    # A pending upload as image_create leaves it (its task is run by this test, not relayed).
    image = ImageFactory(owner=user)
    storage_put(image.upload_key, samples.jpeg_with_gps(orientation=6))
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.DeleteOnFirstVariant"}}
    DeleteOnFirstVariant.image_id = image.pk
    with caplog.at_level(logging.WARNING):
        image_process_task.apply(args=[image.pk], throw=True)
    assert DeleteOnFirstVariant.image_id is None  # the deletion did happen mid-processing
    assert not Image.objects.filter(pk=image.pk).exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []  # nothing orphaned, the late variants included
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
