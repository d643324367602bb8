from django.conf import settings
from django.db import models

from apps.common.models import TimeStampedModel


class Post(TimeStampedModel):
    """A post. Who may see it, and whether its content is locked, is decided only by posts.selectors."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        FOLLOWERS = "followers", "Followers"
        PREMIUM = "premium", "Premium"

    TEXT_MAX_LENGTH = 5000

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    text = models.TextField(blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    # Denormalised counters: changed with F() in the same transaction as the like/comment row; views are flushed
    # from a buffer by a periodic task. A periodic recount repairs any drift.
    likes_count = models.PositiveIntegerField(default=0)
    comments_count = models.PositiveIntegerField(default=0)
    views_count = models.PositiveIntegerField(default=0)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Removed by a moderator: kept for the record, hidden from every path.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["author", "-id"], name="post_author_recent"),
            models.Index(fields=["visibility", "-id"], name="post_visibility_recent"),
        ]

    def __str__(self) -> str:
        return f"Post {self.pk} by {self.author_id}"
