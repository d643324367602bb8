"""Writes of blocks and mutes.

A block removes the follows between the two accounts in its own transaction. follows and safety are independent
siblings in the layers (neither imports the other), so follows cannot react to a `blocked` signal; and doing it
from a higher app's task would leave a window (seconds, or a broker outage long) where the blocked account still
follows and is still listed. So the rows go through the relations the follows app declares on User
(`following_set`), with the counters moved in the same transaction the way follows moves them (rows updated in
primary-key order, never below zero). Timelines are purged after commit by the feed app, reacting to `blocked`.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from rest_framework.exceptions import ValidationError

from apps.common.signals import send_on_commit
from apps.users.models import User

from . import cache, signals
from .models import Block


def _unfollow_both_ways(a: User, b: User) -> None:
    deltas: dict[int, dict[str, int]] = {a.pk: {}, b.pk: {}}
    for follower, followee in ((a, b), (b, a)):
        rows = follower.following_set.filter(followee_id=followee.pk)
        _, per_model = rows.delete()
        if per_model.get(rows.model._meta.label, 0):
            deltas[follower.pk]["following_count"] = -1
            deltas[followee.pk]["followers_count"] = -1
    # Primary-key order, like follows: a concurrent follow between the same two accounts queues on the same first
    # row instead of deadlocking.
    for user_id in sorted(deltas):
        changes = {field: Greatest(F(field) + delta, 0) for field, delta in deltas[user_id].items()}
        if changes:
            User.objects.filter(pk=user_id).update(**changes)


def block_create(*, blocker: User, blocked: User) -> tuple[Block, bool]:
    """`blocker` blocks `blocked`; returns (block, created). Blocking again changes nothing (but re-announces)."""
    if blocker.pk == blocked.pk:
        raise ValidationError({"detail": "You cannot block yourself."})
    try:
        with transaction.atomic():
            block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
            if created:
                _unfollow_both_ways(blocker, blocked)
                cache.sets_changed(blocker.pk, blocked.pk)
            send_on_commit(signals.blocked, sender=Block, blocker_id=blocker.pk, blocked_id=blocked.pk, created=created)
    except IntegrityError:
        # Two identical requests raced: the unique constraint let one insert; the loser reports the existing row.
        return Block.objects.get(blocker=blocker, blocked=blocked), False
    return block, created


@transaction.atomic
def block_delete(*, blocker: User, blocked: User) -> bool:
    """Unblock; idempotent. Follows removed by the block do not come back."""
    deleted, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    if deleted:
        cache.sets_changed(blocker.pk, blocked.pk)
    return bool(deleted)
