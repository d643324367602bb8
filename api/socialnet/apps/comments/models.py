from django.conf import settings
from django.db import models

from apps.common.models import TimeStampedModel


class Comment(TimeStampedModel):
    """A comment on a post, or a reply to one (`parent`, always on the same post)."""

    TEXT_MAX_LENGTH = 2000

    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    text = models.TextField()
    replies_count = models.PositiveIntegerField(default=0)
    edited_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["post", "parent", "id"], name="comment_thread_order")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on post {self.post_id}"
