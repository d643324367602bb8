"""Writes of blocks and mutes.

A block removes the follows between the two accounts in its own transaction. follows and safety are independent
siblings in the layers (neither imports the other), so follows cannot react to a `blocked` signal; and doing it
from a higher app's task would leave a window (seconds, or a broker outage long) where the blocked account still
follows and is still listed. So the rows go through the relations the follows app declares on User
(`following_set`), with the counters moved in the same transaction the way follows moves them (rows updated in
primary-key order, never below zero). Timelines are purged after commit by the feed app, reacting to `blocked`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.users.models import User

from . import cache, signals
from .models import Block, KeywordFilter, Mute


def _unfollow_both_ways(a: User, b: User) -> None:
    # Pending follow requests go too, both ways (they carry no counters).
    a.follow_requests_sent.filter(target_id=b.pk).delete()
    b.follow_requests_sent.filter(target_id=a.pk).delete()
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
            # Both accounts' rows first, in primary-key order (the order follows updates them in): a follow between
            # them running now either finishes before this goes on (and its row is deleted below) or waits and
            # then sees the block (apps.follows.services.follow_create).
            list(User.objects.select_for_update().filter(pk__in=[blocker.pk, blocked.pk]).order_by("pk"))
            block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
            if created:
                _unfollow_both_ways(blocker, blocked)
                cache.sets_changed(blocker.pk, blocked.pk)
            signals.blocked.send(sender=Block, blocker_id=blocker.pk, blocked_id=blocked.pk, created=created)
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


# Longest timed mute: past it a client means "forever" (null), and a bigger number is a bug or an overflow attempt.
MUTE_MAX_DURATION = timedelta(days=366)


def mute_set(
    *, muter: User, muted: User, duration: timedelta | None = None, notifications: bool = True
) -> tuple[Mute, bool]:
    """Mute `muted` for `duration` (None: until unmuted); returns (mute, created). Muting again replaces the
    duration and the notifications switch of the mute in force (created False); a mute that had expired counts
    as over, so muting again starts a new one (created True)."""
    if muter.pk == muted.pk:
        raise ValidationError({"detail": "You cannot mute yourself."})
    if duration is not None and not timedelta(seconds=1) <= duration <= MUTE_MAX_DURATION:
        raise ValidationError({"duration_seconds": ["Must be between 1 second and 366 days, or null for forever."]})
    expires_at = timezone.now() + duration if duration is not None else None
    with transaction.atomic():
        # select_for_update: two concurrent updates of one mute must not both read it as expired/new.
        existing = Mute.objects.select_for_update().filter(muter=muter, muted=muted).first()
        created = existing is None or not existing.is_active
        mute, _ = Mute.objects.update_or_create(
            muter=muter, muted=muted, defaults={"expires_at": expires_at, "notifications": notifications}
        )
        cache.sets_changed(muter.pk)
    return mute, created


@transaction.atomic
def mute_delete(*, muter: User, muted: User) -> bool:
    """Unmute; idempotent."""
    deleted, _ = Mute.objects.filter(muter=muter, muted=muted).delete()
    if deleted:
        cache.sets_changed(muter.pk)
    return bool(deleted)


def _filter_pattern(phrase: str, *, whole_word: bool) -> str:
    """The PostgreSQL regular expression (ARE, matched with ~*) for `phrase`. Python's re.escape backslashes the
    characters special to either dialect, and in an ARE a backslash before a non-alphanumeric is that character.
    Whole words: not preceded or followed by a letter, digit or underscore of any script ([[:alnum:]] follows the
    database's Unicode ctype), which unlike \\m...\\M also works for phrases such as "#tag" or "c++"."""
    escaped = re.escape(phrase)
    if not whole_word:
        return escaped
    return f"(^|[^[:alnum:]_]){escaped}([^[:alnum:]_]|$)"


def _clean_phrase(phrase: str) -> str:
    phrase = phrase.strip()
    if not phrase:
        raise ValidationError({"phrase": ["This field may not be blank."]})
    if len(phrase) > KeywordFilter.PHRASE_MAX_LENGTH:
        raise ValidationError({"phrase": [f"At most {KeywordFilter.PHRASE_MAX_LENGTH} characters."]})
    return phrase


def _apply(f: KeywordFilter, data: dict) -> None:
    if "phrase" in data:
        f.phrase = _clean_phrase(data["phrase"])
    if "whole_word" in data:
        f.whole_word = data["whole_word"]
    if "context" in data:
        contexts = set(data["context"])
        if not contexts:
            raise ValidationError({"context": ["Name at least one context."]})
        for c in KeywordFilter.Context:
            setattr(f, f"in_{c.value}", c.value in contexts)
    if "expires_at" in data:
        if data["expires_at"] is not None and data["expires_at"] <= timezone.now():
            raise ValidationError({"expires_at": ["Must be in the future (or null for never)."]})
        f.expires_at = data["expires_at"]
    f.pattern = _filter_pattern(f.phrase, whole_word=f.whole_word)


def keyword_filter_create(*, owner: User, data: dict) -> KeywordFilter:
    """A new filter (`phrase` and `context` required). At most MAX_PER_USER per user, counted under a lock on the
    owner's row so that concurrent creations cannot both take the last place."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).exists()
        if KeywordFilter.objects.filter(owner=owner).count() >= KeywordFilter.MAX_PER_USER:
            raise ValidationError({"detail": f"At most {KeywordFilter.MAX_PER_USER} filters."})
        f = KeywordFilter(owner=owner)
        _apply(f, {"whole_word": True, "expires_at": None, **data})
        f.save()
    return f


@transaction.atomic
def keyword_filter_update(*, keyword_filter: KeywordFilter, data: dict) -> KeywordFilter:
    _apply(keyword_filter, data)
    keyword_filter.save()
    return keyword_filter


def keyword_filter_delete(*, keyword_filter: KeywordFilter) -> None:
    keyword_filter.delete()


def safety_expired_purge(*, batch_size: int = 5000) -> int:
    """Delete mutes and keyword filters that expired (readers already ignore them: this only reclaims rows).
    In batches, so a backlog never holds long locks. Returns rows deleted. Cached sets are left alone: each cached
    mute carries its expiry and is ignored past it."""
    now = timezone.now()
    deleted = 0
    for model in (Mute, KeywordFilter):
        while True:
            ids = list(model.objects.filter(expires_at__lt=now).values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted += model.objects.filter(pk__in=ids).delete()[0]
    return deleted
