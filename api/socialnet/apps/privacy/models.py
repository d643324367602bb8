from django.conf import settings
from django.db import models


class DataExport(models.Model):
    """A copy of a user's data (API.md, Account lifecycle): a ZIP in the default storage at `storage_key`, built
    by a task, downloadable through a signed expiring URL, deleted after DATA_EXPORT_KEEP_DAYS."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    storage_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="export_user_recent")]

    def __str__(self) -> str:
        return f"Data export {self.pk} of user {self.user_id} ({self.status})"
