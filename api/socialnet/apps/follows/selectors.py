"""Reads of the follow graph: lists of profiles (annotated `is_following` for the viewer) and suggestions."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, Count, Exists, OuterRef, QuerySet, Value

from apps.common.prepared import Param, PreparedSource
from apps.users.models import User
from apps.users.selectors import user_named, user_public_source
from apps.users.serializers import public_profile_columns
from apps.users.visibility import AccountSet, hidden_accounts

from .models import Follow, FollowRequest


def viewer_follows(*, viewer: User | AnonymousUser, user_ref: str = "pk"):
    """An expression: does `viewer` follow the user in column `user_ref`? False for anonymous callers. The viewer
    is the Param "viewer" (apps.common.prepared)."""
    if not getattr(viewer, "is_authenticated", False):
        return Value(False, output_field=BooleanField())
    return Exists(Follow.objects.filter(follower_id=Param("viewer", viewer.pk), followee_id=OuterRef(user_ref)))


def follow_lists_owner(*, username: str, viewer: User | AnonymousUser, hidden: AccountSet) -> User:
    """The account whose followers or followees are asked for, found as on every public path (Http404 when it is
    absent, deactivated, suspended or behind a block: `hidden`, the viewer's set), with `lists_visible`: may
    `viewer` see who it follows and is followed by? Always for a public account; for a private one only the owner,
    approved followers and staff (everyone else gets empty lists, as for its posts). One query."""
    authenticated = getattr(viewer, "is_authenticated", False)

    def owner_columns(qs: QuerySet[User]) -> QuerySet[User]:
        # Its id and privacy are all the lists need of the account, and whether the viewer follows it.
        return qs.select_related(None).only("id", "is_private").annotate(follows_owner=viewer_follows(viewer=viewer))

    values = {"viewer": viewer.pk} if authenticated else {}
    source = user_public_source(viewer=viewer, hidden=hidden).refine(
        ("follows.lists_owner", authenticated), values, owner_columns
    )
    user = user_named(source, username)
    user.lists_visible = not user.is_private or (
        authenticated and (viewer.pk == user.pk or viewer.is_moderator or user.follows_owner)
    )
    return user


# Which end of a Follow row a list shows, and which end is the account whose list it is.
_SIDES = {"follower": "followee_id", "followee": "follower_id"}


def follow_list(
    *, owner: User, side: str, viewer: User | AnonymousUser, hidden: AccountSet
) -> PreparedSource | QuerySet[Follow]:
    """Follow rows of `owner` (from `follow_lists_owner`) whose `side` ("follower": its followers; "followee": whom
    it follows) is shown: active accounts not hidden from `viewer` by a block; that account joined (only what its
    public profile shows) and annotated `viewer_follows`. A prepared source for the pagination, or no rows when
    the lists of a private `owner` are not `viewer`'s to see."""
    if not owner.lists_visible:
        return Follow.objects.none()
    authenticated = getattr(viewer, "is_authenticated", False)

    def build() -> QuerySet[Follow]:
        rows = Follow.objects.filter(**{_SIDES[side]: Param("owner", owner.pk), f"{side}__is_active": True})
        return (
            hidden.exclude_from(rows, f"{side}_id")
            .select_related(side, f"{side}__avatar")
            .only(*public_profile_columns(f"{side}__"))
            .annotate(viewer_follows=viewer_follows(viewer=viewer, user_ref=f"{side}_id"))
        )

    values = {"owner": owner.pk, **hidden.values()}
    if authenticated:
        values["viewer"] = viewer.pk
    return PreparedSource(key=("follows.list", side, authenticated, hidden.shape), values=values, build=build)


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


def follow_requests_for(*, user: User) -> PreparedSource:
    """Pending requests to follow `user` from active accounts not behind a block, requester joined (only what its
    public profile shows) and annotated `viewer_follows` (does `user` already follow them? a private account can
    follow someone who asks to follow back); a prepared source for the pagination."""
    hidden = hidden_accounts(user)

    def build() -> QuerySet[FollowRequest]:
        rows = FollowRequest.objects.filter(target_id=Param("viewer", user.pk), requester__is_active=True)
        return (
            hidden.exclude_from(rows, "requester_id")
            .select_related("requester", "requester__avatar")
            .only(*public_profile_columns("requester__"))
            .annotate(viewer_follows=viewer_follows(viewer=user, user_ref="requester_id"))
        )

    values = {"viewer": user.pk, **hidden.values()}
    return PreparedSource(key=("follows.requests", hidden.shape), values=values, build=build)
