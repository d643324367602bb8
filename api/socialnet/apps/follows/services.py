"""Writes of the follow graph. Counters move in the same transaction as the row; timelines and notifications
react after commit to the `followed` / `unfollowed` signals."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from rest_framework.exceptions import ValidationError

from apps.common.counters import count_of, recount_in_batches
from apps.common.signals import send_on_commit
from apps.users.models import User

from . import signals
from .models import Follow


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
        send_on_commit(signals.followed, sender=Follow, follower_id=follower.pk, followee_id=followee.pk, created=False)
        return existing, False
    try:
        with transaction.atomic():
            follow = Follow.objects.create(follower=follower, followee=followee)
            _count_follow(follower_id=follower.pk, followee_id=followee.pk, delta=+1)
            send_on_commit(
                signals.followed, sender=Follow, follower_id=follower.pk, followee_id=followee.pk, created=True
            )
    except IntegrityError:
        return Follow.objects.get(follower=follower, followee=followee), False
    return follow, True


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> bool:
    """Stop following; True if a follow was removed. Unfollowing someone you do not follow is a no-op."""
    deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
    if not deleted:
        return False
    _count_follow(follower_id=follower.pk, followee_id=followee.pk, delta=-1)
    send_on_commit(signals.unfollowed, sender=Follow, follower_id=follower.pk, followee_id=followee.pk)
    return True


def follows_counters_recount(*, batch_size: int = 1000) -> int:
    """Repair `followers_count` and `following_count` of every user from the follow rows; returns users repaired."""
    return recount_in_batches(
        User,
        {"followers_count": count_of(Follow, "followee"), "following_count": count_of(Follow, "follower")},
        batch_size=batch_size,
    )
