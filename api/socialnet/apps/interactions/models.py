from django.conf import settings
from django.db import models


class Like(models.Model):
    """One like per user and post; the unique constraint makes repeated likes idempotent under races."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_once_per_user_post")]
        indexes = [models.Index(fields=["post", "-id"], name="like_post_recent")]
