"""Signing in with the password during the grace period takes a deletion back (API.md, Account lifecycle)."""

from django.contrib.auth.backends import ModelBackend

from apps.moderation.models import Suspension
from apps.users.lifecycle import account_deletion_cancel


class AccountBackend(ModelBackend):
    """Django's model backend, which also lets in an account its owner closed and that is neither erased yet nor
    suspended (a suspension is the moderators' decision, not the owner's to undo); the sign-in reopens it."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) or self._closed_by_owner(user)

    @staticmethod
    def _closed_by_owner(user) -> bool:
        return (
            not user.is_active
            and user.deletion_requested_at is not None
            and user.erased_at is None
            and not Suspension.objects.filter(user_id=user.pk).exists()
        )

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not user.is_active:  # the password was right: reopen before the login completes
            account_deletion_cancel(user=user)
        return user
