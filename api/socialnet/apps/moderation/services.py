"""Reports and moderator decisions. Every decision leaves a ModerationAction row (who, what, when, why)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.comments.models import Comment
from apps.comments.services import comment_remove
from apps.posts.models import Post
from apps.posts.selectors import post_get_visible
from apps.posts.services import post_remove
from apps.users.models import User
from apps.users.services import user_revoke_tokens, user_set_role

from .models import ModerationAction, Report, Suspension, TargetType


def _record(*, actor: User, action: str, target_type: str, target_id: int, reason: str = "", report=None) -> None:
    ModerationAction.objects.create(
        actor=actor, action=action, target_type=target_type, target_id=target_id, reason=reason, report=report
    )


def _reportable_target_owner(*, reporter: User, target_type: str, target_id: int) -> int:
    """The id of the user behind a target the reporter can see; Http404 for anything they cannot see."""
    if target_type == TargetType.POST:
        return post_get_visible(viewer=reporter, post_id=target_id).author_id
    if target_type == TargetType.COMMENT:
        comment = Comment.objects.filter(pk=target_id, removed_at__isnull=True, author__is_active=True).first()
        if comment is None:
            raise Http404
        post_get_visible(viewer=reporter, post_id=comment.post_id)
        return comment.author_id
    if target_type == TargetType.USER:
        if not User.objects.filter(pk=target_id, is_active=True).exists():
            raise Http404
        return target_id
    raise ValidationError({"target_type": ["Unknown target type."]})


def report_create(
    *, reporter: User, target_type: str, target_id: int, reason: str, note: str = ""
) -> tuple[Report, bool]:
    """File a report; returns (report, created). A second report on the same target while the first is open
    returns the open one instead of piling up duplicates in the queue."""
    owner_id = _reportable_target_owner(reporter=reporter, target_type=target_type, target_id=target_id)
    if owner_id == reporter.pk:
        raise ValidationError({"target_id": ["You cannot report yourself or your own content."]})
    existing = Report.objects.filter(
        reporter=reporter, target_type=target_type, target_id=target_id, is_open=True
    ).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter, target_type=target_type, target_id=target_id, reason=reason, note=note
            )
    except IntegrityError:  # the same reporter double-submitting: the partial unique constraint decides
        return Report.objects.get(reporter=reporter, target_type=target_type, target_id=target_id, is_open=True), False
    return report, True


def _close_open_reports(*, target_type: str, target_id: int, moderator: User, resolution: str) -> None:
    Report.objects.filter(target_type=target_type, target_id=target_id, is_open=True).update(
        is_open=False,
        status=Report.Status.RESOLVED,
        resolution=resolution,
        resolved_by=moderator,
        resolved_at=timezone.now(),
    )


@transaction.atomic
def report_resolve(*, report: Report, moderator: User, action: str, note: str = "") -> Report:
    """Apply a moderator's decision to a report (and to every other open report on the same target)."""
    if not moderator.is_moderator:
        raise PermissionDenied("Only moderators may resolve reports.")
    report = Report.objects.select_for_update().get(pk=report.pk)
    if not report.is_open:
        raise ValidationError({"detail": "This report is already resolved."})

    if action == Report.Resolution.DISMISS:
        _record(
            actor=moderator,
            action=ModerationAction.Action.DISMISS_REPORT,
            target_type=report.target_type,
            target_id=report.target_id,
            reason=note,
            report=report,
        )
        Report.objects.filter(pk=report.pk).update(
            is_open=False,
            status=Report.Status.RESOLVED,
            resolution=action,
            resolved_by=moderator,
            resolved_at=timezone.now(),
        )
    elif action == Report.Resolution.REMOVE_CONTENT:
        _remove_target(report=report, moderator=moderator, note=note)
        _close_open_reports(
            target_type=report.target_type, target_id=report.target_id, moderator=moderator, resolution=action
        )
    elif action == Report.Resolution.SUSPEND_USER:
        user = _target_user(report)
        user_suspend(user=user, actor=moderator, reason=note or f"Report {report.pk}: {report.reason}", report=report)
        _close_open_reports(
            target_type=report.target_type, target_id=report.target_id, moderator=moderator, resolution=action
        )
    else:
        raise ValidationError({"action": [f'"{action}" is not a valid choice.']})
    report.refresh_from_db()
    return report


def _remove_target(*, report: Report, moderator: User, note: str) -> None:
    if report.target_type == TargetType.POST:
        post = Post.objects.filter(pk=report.target_id).first()
        if post is not None:
            content_remove_post(post=post, actor=moderator, reason=note, report=report)
    elif report.target_type == TargetType.COMMENT:
        comment = Comment.objects.filter(pk=report.target_id).first()
        if comment is not None:
            content_remove_comment(comment=comment, actor=moderator, reason=note, report=report)
    else:
        raise ValidationError({"action": ["A user is not content: use suspend_user."]})


@transaction.atomic
def content_remove_post(*, post: Post, actor: User, reason: str = "", report: Report | None = None) -> Post:
    """Remove a post (hidden everywhere, kept for the record) and log who did it and why."""
    post = post_remove(post=post, actor=actor)
    _record(
        actor=actor,
        action=ModerationAction.Action.REMOVE_POST,
        target_type=TargetType.POST,
        target_id=post.pk,
        reason=reason,
        report=report,
    )
    return post


@transaction.atomic
def content_remove_comment(*, comment: Comment, actor: User, reason: str = "", report: Report | None = None) -> Comment:
    """Remove a comment (hidden everywhere, kept for the record) and log who did it and why."""
    comment = comment_remove(comment=comment, actor=actor)
    _record(
        actor=actor,
        action=ModerationAction.Action.REMOVE_COMMENT,
        target_type=TargetType.COMMENT,
        target_id=comment.pk,
        reason=reason,
        report=report,
    )
    return comment


def _target_user(report: Report) -> User:
    if report.target_type == TargetType.USER:
        user_id = report.target_id
    elif report.target_type == TargetType.POST:
        user_id = Post.objects.filter(pk=report.target_id).values_list("author_id", flat=True).first()
    else:
        user_id = Comment.objects.filter(pk=report.target_id).values_list("author_id", flat=True).first()
    user = User.objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        raise ValidationError({"detail": "The reported user no longer exists."})
    return user


def _check_may_act_on(*, actor: User, user: User) -> None:
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators may suspend users.")
    if actor.pk == user.pk:
        raise ValidationError({"detail": "You cannot suspend yourself."})
    # Staff are accountable to admins: a moderator cannot lock out another moderator or an admin.
    if (user.is_moderator or user.is_staff) and not actor.is_admin:
        raise PermissionDenied("Only admins may suspend staff.")


@transaction.atomic
def user_suspend(*, user: User, actor: User, reason: str = "", report: Report | None = None) -> Suspension:
    """Suspend an account: login refused, every token revoked now, content hidden (it stays in the database)."""
    _check_may_act_on(actor=actor, user=user)
    was_active = User.objects.filter(pk=user.pk).values_list("is_active", flat=True).get()
    suspension, _ = Suspension.objects.get_or_create(
        user=user, defaults={"suspended_by": actor, "reason": reason, "reactivate_on_lift": was_active}
    )
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    user_revoke_tokens(user=user)
    _record(
        actor=actor,
        action=ModerationAction.Action.SUSPEND_USER,
        target_type=TargetType.USER,
        target_id=user.pk,
        reason=reason,
        report=report,
    )
    return suspension


@transaction.atomic
def user_unsuspend(*, user: User, actor: User, reason: str = "") -> None:
    """Lift a suspension: the account and its content come back. Self-closed accounts are not touched."""
    _check_may_act_on(actor=actor, user=user)
    suspension = Suspension.objects.select_for_update().filter(user=user).first()
    if suspension is None:
        return
    suspension.delete()
    if suspension.reactivate_on_lift:
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
    _record(
        actor=actor,
        action=ModerationAction.Action.UNSUSPEND_USER,
        target_type=TargetType.USER,
        target_id=user.pk,
        reason=reason,
    )


@transaction.atomic
def premium_grant(*, user: User, actor: User, days: int = 30, reason: str = "") -> User:
    """Extend premium by `days` from now or from the current end, whichever is later. Admins only."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied("Only admins may grant premium.")
    if days < 1:
        raise ValidationError({"days": ["Must be at least 1."]})
    user = User.objects.select_for_update().get(pk=user.pk)
    start = max(timezone.now(), user.premium_until or timezone.now())
    user.premium_until = start + timezone.timedelta(days=days)
    user.save(update_fields=["premium_until"])
    _record(
        actor=actor,
        action=ModerationAction.Action.GRANT_PREMIUM,
        target_type=TargetType.USER,
        target_id=user.pk,
        reason=reason or f"{days} days",
    )
    return user


@transaction.atomic
def role_change(*, user: User, actor: User, role: str) -> User:
    """Change a user's role (and with it their admin access). Admins only."""
    if not actor.is_admin:
        raise PermissionDenied("Only admins may change roles.")
    if role not in User.Role.values:
        raise ValidationError({"role": [f'"{role}" is not a valid choice.']})
    previous = user.role
    user_set_role(user=user, role=role)
    _record(
        actor=actor,
        action=ModerationAction.Action.SET_ROLE,
        target_type=TargetType.USER,
        target_id=user.pk,
        reason=f"{previous} -> {role}",
    )
    return user
