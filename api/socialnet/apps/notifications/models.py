from django.conf import settings
from django.db import models


class Notification(models.Model):
    """Something another user did to you or your content.

    At most one row per (recipient, actor, type, post, comment): liking, unliking and liking again, or following
    twice, never notifies twice. NULLs count as equal in that constraint (PostgreSQL 15 NULLS NOT DISTINCT), so a
    follow notification (no post, no comment) is unique too.
    """

    class Type(models.TextChoices):
        FOLLOW = "follow", "Follow"
        LIKE = "like", "Like"
        COMMENT = "comment", "Comment"
        REPLY = "reply", "Reply"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=16, choices=Type.choices)
    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    comment = models.ForeignKey("comments.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "actor", "type", "post", "comment"],
                nulls_distinct=False,
                name="notification_once",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_recipient_recent"),
            models.Index(fields=["recipient"], condition=models.Q(read=False), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.type} from {self.actor_id} to {self.recipient_id}"
