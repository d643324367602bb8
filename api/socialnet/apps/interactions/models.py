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

    def __str__(self) -> str:
        return f"Like by {self.user_id} on post {self.post_id}"


class ViewFlush(models.Model):
    """A batch of buffered view counts already added to `Post.views_count`.

    The flush task writes this row in the same transaction as the counter update, so a batch retried after a
    crash (or taken by two overlapping flushes) is applied exactly once. Old rows are pruned by the task.
    """

    batch_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"View flush {self.batch_id}"
