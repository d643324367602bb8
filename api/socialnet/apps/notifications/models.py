from django.conf import settings
from django.db import models


class Notification(models.Model):
    """Something another user did to you or your content.

    At most one row per (actor, type, target): liking, unliking and liking again, or following twice, never
    notifies twice (the target of a follow is the recipient, of a like the post, of a comment or reply the comment).
    """

    class Type(models.TextChoices):
        FOLLOW = "follow", "Follow"
        FOLLOW_REQUEST = "follow_request", "Follow request"
        LIKE = "like", "Like"
        COMMENT = "comment", "Comment"
        REPLY = "reply", "Reply"
        MENTION = "mention", "Mention"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=16, choices=Type.choices)
    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    comment = models.ForeignKey("comments.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read = models.BooleanField(default=False)

    class Meta:
        # One partial constraint per kind of target rather than one NULLS NOT DISTINCT constraint: the same rule
        # then holds on SQLite (embedded mode), which has no NULLS NOT DISTINCT.
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "actor"], condition=models.Q(type="follow"), name="notification_follow_once"
            ),
            models.UniqueConstraint(
                fields=["recipient", "actor"],
                condition=models.Q(type="follow_request"),
                name="notification_follow_request_once",
            ),
            models.UniqueConstraint(
                fields=["recipient", "actor", "post"], condition=models.Q(type="like"), name="notification_like_once"
            ),
            models.UniqueConstraint(
                fields=["recipient", "actor", "type", "comment"],
                condition=models.Q(type__in=["comment", "reply"]),
                name="notification_comment_once",
            ),
            # A mention notifies once per user per post (or comment), however often an edit re-adds the name.
            models.UniqueConstraint(
                fields=["recipient", "actor", "post"],
                condition=models.Q(type="mention", comment__isnull=True),
                name="notification_post_mention_once",
            ),
            models.UniqueConstraint(
                fields=["recipient", "actor", "comment"],
                condition=models.Q(type="mention", comment__isnull=False),
                name="notification_comment_mention_once",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_recipient_recent"),
            models.Index(fields=["recipient"], condition=models.Q(read=False), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.type} from {self.actor_id} to {self.recipient_id}"
