import uuid

from django.conf import settings
from django.db import models

from apps.common.models import TimeStampedModel

from .processing import CONTENT_TYPES, VARIANT_NAMES


def _new_storage_prefix() -> str:
    # Random rather than derived from the id: media paths must not be enumerable, and the prefix exists before
    # the row does (the upload is stored first).
    return f"images/{uuid.uuid4().hex}"


class Image(TimeStampedModel):
    """An uploaded picture and the files derived from it.

    Files live in the default storage under `storage_prefix`, at keys that depend only on the row
    (`upload`, `original.<ext>`, `small.webp`, `medium.webp`, `large.webp`), so a retried processing task
    overwrites instead of duplicating. The raw `upload` keeps the client's metadata (GPS...) and is never served;
    it is deleted once the image is ready.

    Invariants: `post` is set at most once (an image belongs to one post) and only to a post of `owner`;
    `width`, `height`, `blurhash` and `original_ext` are set exactly when `status` is ready.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    ALT_TEXT_MAX_LENGTH = 1000
    MAX_PER_POST = 10

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images")
    post = models.ForeignKey(
        "posts.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="images", db_index=True
    )
    position = models.PositiveSmallIntegerField(default=0)  # order within the post
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    source_format = models.CharField(max_length=8)  # decided from the content at upload
    source_bytes = models.PositiveIntegerField(default=0)
    storage_prefix = models.CharField(max_length=64, unique=True, default=_new_storage_prefix, editable=False)
    original_ext = models.CharField(max_length=8, blank=True)
    alt_text = models.CharField(max_length=ALT_TEXT_MAX_LENGTH, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    blurhash = models.CharField(max_length=64, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    # Processing attempts (task runs, retries and outbox relays): bounded, so a poison image ends `failed`, not in a
    # loop.
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["post", "position"], name="image_post_position"),
        ]

    def __str__(self) -> str:
        return f"Image {self.pk} ({self.status})"

    # Storage keys. Deterministic: the same image always maps to the same keys.
    @property
    def upload_key(self) -> str:
        return f"{self.storage_prefix}/upload"

    def original_key(self, ext: str | None = None) -> str:
        return f"{self.storage_prefix}/original.{ext or self.original_ext}"

    def variant_key(self, name: str) -> str:
        return f"{self.storage_prefix}/{name}.webp"

    def served_keys(self) -> dict[str, str]:
        """Name -> key of every file clients may fetch (only meaningful once ready)."""
        keys = {name: self.variant_key(name) for name in VARIANT_NAMES}
        if self.original_ext:
            keys["original"] = self.original_key()
        return keys

    def all_keys(self) -> list[str]:
        """Every key this image may have written, whatever its state: what deleting it must remove."""
        keys = [self.upload_key, *(self.variant_key(name) for name in VARIANT_NAMES)]
        keys += [self.original_key(ext) for ext in sorted(set(CONTENT_TYPES))]
        return keys
