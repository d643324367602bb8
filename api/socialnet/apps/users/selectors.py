"""Reads of accounts."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import User


def user_public_queryset() -> QuerySet[User]:
    """Accounts anyone may see: deactivated and suspended ones are gone from every public path."""
    return User.objects.filter(is_active=True).select_related("avatar")


def user_get_public(*, username: str) -> User:
    return get_object_or_404(user_public_queryset(), username__iexact=username)


def user_get_profile(*, username: str, viewer) -> User:
    """A public profile annotated with `is_following` (does `viewer` follow them; False when anonymous)."""
    from apps.follows.selectors import viewer_follows

    qs = user_public_queryset().annotate(is_following=viewer_follows(viewer=viewer))
    return get_object_or_404(qs, username__iexact=username)
