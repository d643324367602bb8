"""Reads of accounts."""

from django.db.models import BooleanField, CharField, Exists, OuterRef, QuerySet, Value
from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.common.prepared import Param, PreparedSource

from .models import User
from .visibility import AccountSet, hidden_accounts


def user_public_source(*, viewer=None, hidden: AccountSet | None = None) -> PreparedSource:
    """Accounts anyone may see: deactivated and suspended ones are gone from every public path. With a `viewer`,
    also without the accounts hidden from them by a block either way (apps.users.visibility); `hidden`, when the
    caller already read that set for this request (it is a cache read: once per request is enough).

    A prepared source (apps.common.prepared), for lookups on hot pages; `user_public_queryset` for the rest."""
    hidden = hidden_accounts(viewer) if hidden is None else hidden

    def build() -> QuerySet[User]:
        return hidden.exclude_from(User.objects.filter(is_active=True).select_related("avatar"), "pk")

    return PreparedSource(key=("users.public", hidden.shape), values=hidden.values(), build=build)


def user_public_queryset(*, viewer=None) -> QuerySet[User]:
    return user_public_source(viewer=viewer).queryset()


def user_get_named(*, username: str, queryset: QuerySet[User] | None = None) -> User:
    """The account of `queryset` (every account by default, closed and suspended ones included) named `username`,
    whatever the case; Http404 without. For one-off lookups; hot pages use `user_named` on a prepared source."""
    queryset = User.objects.all() if queryset is None else queryset
    return get_object_or_404(queryset.named(username))


def user_named(source: PreparedSource, username: str) -> User:
    """The account of `source` named `username`, whatever the case (names are unique that way); Http404 without."""
    name = Param("username", username, output_field=CharField())
    users = source.refine(("username",), {"username": username}, lambda qs: qs.named(name)).fetch()
    if not users:
        raise Http404("No User matches the given query.")
    return users[0]


def user_get_public(*, username: str, viewer=None) -> User:
    return user_named(user_public_source(viewer=viewer), username)


def user_get_profile(*, username: str, viewer) -> User:
    """A public profile annotated with `is_following` (does `viewer` follow them; False when anonymous); 404 when
    a block stands between them, either way."""
    authenticated = getattr(viewer, "is_authenticated", False)

    def with_is_following(qs: QuerySet[User]) -> QuerySet[User]:
        if not authenticated:
            return qs.annotate(is_following=Value(False, output_field=BooleanField()))
        # Through the relation the follows app declares on User (`following_set`): users never imports follows.
        me = Param("viewer", viewer.pk)
        return qs.annotate(is_following=Exists(User.objects.filter(pk=me, following_set__followee_id=OuterRef("pk"))))

    values = {"viewer": viewer.pk} if authenticated else {}
    source = user_public_source(viewer=viewer).refine(("profile", authenticated), values, with_is_following)
    return user_named(source, username)
