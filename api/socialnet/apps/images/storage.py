"""Writes and deletes through Django's storage API, so local files and S3/MinIO behave the same."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)


class StorageKeyMismatch(RuntimeError):
    """The storage saved under another name than asked: deterministic keys would be broken."""


def storage_put(key: str, data: bytes) -> None:
    """Write `data` at exactly `key`, replacing what is there (a retried task overwrites, never duplicates)."""
    # FileSystemStorage invents a new name when the key exists; S3 overwrites. Deleting first makes both overwrite.
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:
        default_storage.delete(saved)
        raise StorageKeyMismatch(f"storage saved {key!r} as {saved!r}")


def storage_read(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def storage_delete_many(keys: Iterable[str]) -> None:
    """Delete every key that exists. Idempotent: a missing key is what we wanted anyway."""
    for key in keys:
        default_storage.delete(key)
