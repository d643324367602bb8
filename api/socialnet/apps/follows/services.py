"""Writes of the follow graph. Counters move in the same transaction as the row; timelines and notifications
react after commit, on the `follows` queue."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from rest_framework.exceptions import ValidationError

from apps.common.tasks import enqueue
from apps.users.models import User

from .models import Follow


def _after_follow(follower_id: int, followee_id: int) -> None:
    from apps.feed.services import celebrities_forget_safely
    from apps.feed.tasks import timeline_backfill_task

    from .tasks import follow_notify_task

    celebrities_forget_safely(user_id=follower_id)
    enqueue(timeline_backfill_task, follower_id, followee_id)
    enqueue(follow_notify_task, follower_id, followee_id)


def _after_unfollow(follower_id: int, followee_id: int) -> None:
    from apps.feed.services import celebrities_forget_safely
    from apps.feed.tasks import timeline_unmerge_task

    celebrities_forget_safely(user_id=follower_id)
    enqueue(timeline_unmerge_task, follower_id, followee_id)


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
        # A repeat is how a client retries: redo the (idempotent) backfill in case the first enqueue was lost
        # to a broker outage, so the followee's recent posts still reach the home feed.
        from apps.feed.tasks import timeline_backfill_task

        enqueue(timeline_backfill_task, follower.pk, followee.pk)
        return existing, False
    try:
        with transaction.atomic():
            follow = Follow.objects.create(follower=follower, followee=followee)
            _count_follow(follower_id=follower.pk, followee_id=followee.pk, delta=+1)
            follower_id, followee_id = follower.pk, followee.pk
            transaction.on_commit(lambda: _after_follow(follower_id, followee_id))
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
    follower_id, followee_id = follower.pk, followee.pk
    transaction.on_commit(lambda: _after_unfollow(follower_id, followee_id))
    return True
