"""Writes of the follow graph. Counters move in the same transaction as the row; timelines and notifications
react after commit to the `followed` / `unfollowed` signals."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.http import Http404
from rest_framework.exceptions import ValidationError

from apps.common.counters import count_of, recount_in_batches
from apps.users.models import User
from apps.users.visibility import hidden_accounts

from . import signals
from .models import Follow, FollowRequest


def _count_follow(*, follower_id: int, followee_id: int, delta: int) -> None:
    """Move both users' counters by `delta`, updating the two rows in primary-key order.

    A follows B while B follows A: with a fixed order the two transactions queue on the same first row instead
    of each holding one row and waiting for the other (a deadlock). Greatest(): a counter drifted by an old bug
    must still never go negative (PositiveIntegerField would raise).
    """
    fields = {follower_id: "following_count", followee_id: "followers_count"}
    for user_id in sorted(fields):
        field = fields[user_id]
        User.objects.filter(pk=user_id).update(**{field: Greatest(F(field) + delta, 0)})


def follow_create(*, follower: User, followee: User) -> tuple[Follow, bool]:
    """Make `follower` follow `followee`; returns (follow, created). Following again changes nothing.

    The unique constraint, not a prior SELECT, decides who wins a race between two identical requests: the loser
    gets the existing row and counts nothing.
    """
    if follower.pk == followee.pk:
        raise ValidationError({"detail": "You cannot follow yourself."})
    existing = Follow.objects.filter(follower=follower, followee=followee).first()
    if existing is not None:
        # A repeat is how a client retries: announce it, so idempotent reactions (the timeline backfill) are redone
        # in case the first request's were lost to a broker outage.
        signals.followed.send(sender=Follow, follower_id=follower.pk, followee_id=followee.pk, created=False)
        return existing, False
    try:
        with transaction.atomic():
            follow = Follow.objects.create(follower=follower, followee=followee)
            _count_follow(follower_id=follower.pk, followee_id=followee.pk, delta=+1)
            # A block racing this follow: block_create locks both user rows first, so either it waited for this
            # transaction (and then deletes the follow), or it committed before the counter update above got the
            # rows, and this check sees it (the rule is safety's, asked through users; its cache is tombstoned
            # from inside the block's transaction). The view checked before; this closes the window after.
            if followee.pk in hidden_accounts(follower):
                raise Http404("Not found.")
            signals.followed.send(sender=Follow, follower_id=follower.pk, followee_id=followee.pk, created=True)
    except IntegrityError:
        return Follow.objects.get(follower=follower, followee=followee), False
    return follow, True


def follow_or_request(*, follower: User, followee: User) -> str:
    """What POST /users/{username}/follow/ does: "followed" (201), "already" (200: following already, a public
    account followed again), or "requested" (202: the account is private; a repeat keeps the one request)."""
    if follower.pk == followee.pk:
        raise ValidationError({"detail": "You cannot follow yourself."})
    if followee.is_private and not Follow.objects.filter(follower=follower, followee=followee).exists():
        with transaction.atomic():  # the request and its outbox row (the notification) commit together
            _, created = FollowRequest.objects.get_or_create(requester=follower, target=followee)
            if created:
                signals.follow_requested.send(sender=FollowRequest, requester_id=follower.pk, target_id=followee.pk)
        return "requested"
    _, created = follow_create(follower=follower, followee=followee)
    return "followed" if created else "already"


def follow_request_accept(*, target: User, requester: User) -> Follow:
    """Approve a pending request: the requester now follows (their timeline is backfilled, as on any follow).
    Http404 without a pending request; accepting twice at once makes one follow (the request row is locked)."""
    with transaction.atomic():
        request = FollowRequest.objects.select_for_update().filter(requester=requester, target=target).first()
        if request is None:
            raise Http404("No such follow request.")
        request.delete()
        follow, _ = follow_create(follower=requester, followee=target)
    return follow


@transaction.atomic
def follow_request_reject(*, target: User, requester: User) -> None:
    deleted, _ = FollowRequest.objects.filter(requester=requester, target=target).delete()
    if not deleted:
        raise Http404("No such follow request.")


def follow_requests_accept_all(*, user_id: int) -> int:
    """The account went public: every pending request becomes a follow (idempotent). Returns how many."""
    user = User.objects.filter(pk=user_id, is_private=False).first()
    if user is None:
        return 0  # private again before this ran: the requests stay pending
    accepted = 0
    for request in FollowRequest.objects.filter(target=user).select_related("requester").order_by("id"):
        try:
            follow_request_accept(target=user, requester=request.requester)
            accepted += 1
        except Http404:
            continue  # cancelled meanwhile
    return accepted


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> bool:
    """Stop following (and cancel a pending request); True if a follow was removed. Unfollowing someone you do not
    follow is a no-op."""
    FollowRequest.objects.filter(requester=follower, target=followee).delete()
    deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
    if not deleted:
        return False
    _count_follow(follower_id=follower.pk, followee_id=followee.pk, delta=-1)
    signals.unfollowed.send(sender=Follow, follower_id=follower.pk, followee_id=followee.pk)
    return True


def follows_counters_recount(*, batch_size: int = 1000) -> int:
    """Repair `followers_count` and `following_count` of every user from the follow rows; returns users repaired."""
    return recount_in_batches(
        User,
        {"followers_count": count_of(Follow, "followee"), "following_count": count_of(Follow, "follower")},
        batch_size=batch_size,
    )
