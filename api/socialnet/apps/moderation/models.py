from django.conf import settings
from django.db import models
from django.db.models import Q


class TargetType(models.TextChoices):
    POST = "post", "Post"
    COMMENT = "comment", "Comment"
    USER = "user", "User"


class Report(models.Model):
    """A user's complaint about a post, a comment or a user. One open report per reporter and target."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        ABUSE = "abuse", "Abuse"
        ILLEGAL = "illegal", "Illegal"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        DISMISS = "dismiss", "Dismissed"
        REMOVE_CONTENT = "remove_content", "Content removed"
        SUSPEND_USER = "suspend_user", "User suspended"

    NOTE_MAX_LENGTH = 1000

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # True while open: the moderation queue sorts on it (open first) with one index.
    is_open = models.BooleanField(default=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_resolved"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=Q(is_open=True),
                name="report_one_open_per_reporter_target",
            ),
        ]
        indexes = [
            models.Index(fields=["-is_open", "-id"], name="report_queue"),
            models.Index(fields=["target_type", "target_id"], name="report_target"),
        ]

    def __str__(self) -> str:
        return f"Report {self.pk}: {self.target_type} {self.target_id} ({self.reason})"


class ModerationAction(models.Model):
    """The record of every moderation decision: who did what to which target, when and why. Append-only."""

    class Action(models.TextChoices):
        DISMISS_REPORT = "dismiss_report", "Dismiss report"
        REMOVE_POST = "remove_post", "Remove post"
        REMOVE_COMMENT = "remove_comment", "Remove comment"
        SUSPEND_USER = "suspend_user", "Suspend user"
        UNSUSPEND_USER = "unsuspend_user", "Lift suspension"
        GRANT_PREMIUM = "grant_premium", "Grant premium"
        SET_ROLE = "set_role", "Change role"
        ERASE_USER = "erase_user", "Erase user (legal request)"  # apps.privacy, `manage.py erase_user`

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="moderation_actions"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.PositiveBigIntegerField()
    report = models.ForeignKey(Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id"], name="modaction_target")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.target_type} {self.target_id}"


class Suspension(models.Model):
    """A suspended account (its `is_active` is off while this row exists). Lifting it deletes the row."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suspension")
    suspended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.TextField(blank=True)
    # False when the account was already closed by its owner: lifting the suspension must not reopen it.
    reactivate_on_lift = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Suspension of user {self.user_id}"
