from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Follow(models.Model):
    """`follower` follows `followee`. One row per pair; nobody follows themselves."""

    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set")
    followee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_set")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_once"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follow_not_self"),
        ]
        indexes = [
            models.Index(fields=["followee", "-id"], name="follow_followers_recent"),
            models.Index(fields=["follower", "-id"], name="follow_following_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class FollowRequest(models.Model):
    """`requester` asked to follow the private account `target`; becomes a Follow when accepted, goes when
    rejected, cancelled, or when either blocks the other."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_requests_sent"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_requests_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "target"], name="follow_request_once"),
            models.CheckConstraint(condition=~Q(requester=F("target")), name="follow_request_not_self"),
        ]
        indexes = [models.Index(fields=["target", "id"], name="follow_request_pending")]

    def __str__(self) -> str:
        return f"{self.requester_id} asks to follow {self.target_id}"
