"""Reads of the follow graph: lists of profiles (annotated `is_following` for the viewer) and suggestions."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, Count, Exists, OuterRef, QuerySet, Value

from apps.users.models import User
from apps.users.visibility import hidden_accounts

from .models import Follow, FollowRequest


def viewer_follows(*, viewer: User | AnonymousUser, user_ref: str = "pk"):
    """An expression: does `viewer` follow the user in column `user_ref`? False for anonymous callers."""
    if not getattr(viewer, "is_authenticated", False):
        return Value(False, output_field=BooleanField())
    return Exists(Follow.objects.filter(follower_id=viewer.pk, followee_id=OuterRef(user_ref)))


def lists_visible(*, user: User, viewer: User | AnonymousUser) -> bool:
    """May `viewer` see who `user` follows and is followed by? Always for a public account; for a private one
    only the owner, approved followers and staff (everyone else gets empty lists, as for its posts)."""
    if not user.is_private:
        return True
    if not getattr(viewer, "is_authenticated", False):
        return False
    if viewer.pk == user.pk or viewer.is_moderator:
        return True
    return Follow.objects.filter(follower_id=viewer.pk, followee_id=user.pk).exists()


def followers_of(*, user: User, viewer: User | AnonymousUser) -> QuerySet[Follow]:
    """Follow rows whose follower is shown (active accounts not hidden from `viewer` by a block), follower joined
    and annotated; none when the lists of a private `user` are not `viewer`'s to see."""
    if not lists_visible(user=user, viewer=viewer):
        return Follow.objects.none()
    rows = Follow.objects.filter(followee=user, follower__is_active=True)
    return (
        hidden_accounts(viewer)
        .exclude_from(rows, "follower_id")
        .select_related("follower", "follower__avatar")
        .annotate(viewer_follows=viewer_follows(viewer=viewer, user_ref="follower_id"))
    )


def following_of(*, user: User, viewer: User | AnonymousUser) -> QuerySet[Follow]:
    if not lists_visible(user=user, viewer=viewer):
        return Follow.objects.none()
    rows = Follow.objects.filter(follower=user, followee__is_active=True)
    return (
        hidden_accounts(viewer)
        .exclude_from(rows, "followee_id")
        .select_related("followee", "followee__avatar")
        .annotate(viewer_follows=viewer_follows(viewer=viewer, user_ref="followee_id"))
    )


def following_ids_queryset(*, user_id: int) -> QuerySet:
    """A subquery of the ids `user_id` follows (use inside another query, never evaluated alone on hot paths)."""
    return Follow.objects.filter(follower_id=user_id).values("followee_id")


def user_suggestions(*, user: User, limit: int = 20) -> list[User]:
    """Who to follow: friends of friends (most mutual connections first), then the most followed accounts.

    Never `user` nor anyone `user` already follows, never inactive accounts, never one a block stands between.
    Three queries whatever the limit.
    """
    already = following_ids_queryset(user_id=user.pk)
    hidden = hidden_accounts(user)
    fof_rows = list(
        hidden.exclude_from(Follow.objects.filter(follower_id__in=already, followee__is_active=True), "followee_id")
        .exclude(followee_id=user.pk)
        .exclude(followee_id__in=already)
        .values("followee_id")
        .annotate(mutual=Count("id"))
        .order_by("-mutual", "followee_id")[:limit]
        .values_list("followee_id", flat=True)
    )
    ids = list(fof_rows)
    if len(ids) < limit:
        popular = (
            hidden.exclude_from(User.objects.filter(is_active=True), "pk")
            .exclude(pk=user.pk)
            .exclude(pk__in=already)
            .exclude(pk__in=ids)
            .order_by("-followers_count", "id")
            .values_list("id", flat=True)[: limit - len(ids)]
        )
        ids.extend(popular)
    by_id = {u.pk: u for u in User.objects.filter(pk__in=ids).select_related("avatar")}
    result = []
    for pk in ids:
        if pk in by_id:
            by_id[pk].is_following = False
            result.append(by_id[pk])
    return result


def follow_requests_for(*, user: User) -> QuerySet[FollowRequest]:
    """Pending requests to follow `user` from active accounts not behind a block, requester joined."""
    rows = FollowRequest.objects.filter(target=user, requester__is_active=True)
    return hidden_accounts(user).exclude_from(rows, "requester_id").select_related("requester", "requester__avatar")
