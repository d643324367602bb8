"""Reads of accounts."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import User


def user_public_queryset() -> QuerySet[User]:
    """Accounts anyone may see: deactivated and suspended ones are gone from every public path."""
    return User.objects.filter(is_active=True)


def user_get_public(*, username: str) -> User:
    return get_object_or_404(user_public_queryset(), username__iexact=username)
