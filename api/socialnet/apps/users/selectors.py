"""Reads of accounts."""

from django.db.models import BooleanField, Exists, OuterRef, QuerySet, Value
from django.shortcuts import get_object_or_404

from .models import User
from .visibility import hidden_accounts


def user_public_queryset(*, viewer=None) -> QuerySet[User]:
    """Accounts anyone may see: deactivated and suspended ones are gone from every public path. With a `viewer`,
    also without the accounts hidden from them by a block either way (apps.users.visibility)."""
    qs = User.objects.filter(is_active=True).select_related("avatar")
    return hidden_accounts(viewer).exclude_from(qs, "pk")


def user_get_public(*, username: str, viewer=None) -> User:
    return get_object_or_404(user_public_queryset(viewer=viewer), username__iexact=username)


def user_get_profile(*, username: str, viewer) -> User:
    """A public profile annotated with `is_following` (does `viewer` follow them; False when anonymous); 404 when
    a block stands between them, either way."""
    if getattr(viewer, "is_authenticated", False):
        # Through the relation the follows app declares on User (`following_set`): users never imports follows.
        is_following = Exists(User.objects.filter(pk=viewer.pk, following_set__followee_id=OuterRef("pk")))
    else:
        is_following = Value(False, output_field=BooleanField())
    qs = user_public_queryset(viewer=viewer).annotate(is_following=is_following)
    return get_object_or_404(qs, username__iexact=username)
