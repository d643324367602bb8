"""Reads of accounts."""

from django.db.models import BooleanField, Exists, OuterRef, QuerySet, Value
from django.shortcuts import get_object_or_404

from .models import User


def user_public_queryset() -> QuerySet[User]:
    """Accounts anyone may see: deactivated and suspended ones are gone from every public path."""
    return User.objects.filter(is_active=True).select_related("avatar")


def user_get_public(*, username: str) -> User:
    return get_object_or_404(user_public_queryset(), username__iexact=username)


def user_get_profile(*, username: str, viewer) -> User:
    """A public profile annotated with `is_following` (does `viewer` follow them; False when anonymous)."""
    if getattr(viewer, "is_authenticated", False):
        # Through the relation the follows app declares on User (`following_set`): users never imports follows.
        is_following = Exists(User.objects.filter(pk=viewer.pk, following_set__followee_id=OuterRef("pk")))
    else:
        is_following = Value(False, output_field=BooleanField())
    qs = user_public_queryset().annotate(is_following=is_following)
    return get_object_or_404(qs, username__iexact=username)
