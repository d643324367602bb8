"""THE block and mute rule: who is hidden from whom, who is muted. Posts, comments, likes, notifications and feeds
(above) import these; users and follows (below, beside) reach them through apps.users.visibility."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Lower, StrIndex
from django.db.models.lookups import GreaterThan, IRegex
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.common.prepared import Param, PreparedSource
from apps.common.tasks import enqueue
from apps.users.models import User
from apps.users.serializers import public_profile_columns
from apps.users.visibility import EMPTY, AccountSet

from . import cache
from .models import Block, KeywordFilter, Mute

Viewer = User | AnonymousUser


def _active_mutes(user_id, now=None) -> QuerySet[Mute]:
    """`user_id`'s mutes in force at `now` (default: now); both may be Params (a prepared page's subquery)."""
    now = timezone.now() if now is None else now
    return Mute.objects.filter(muter_id=user_id).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def _load_sets(user_id: int) -> cache.SafetySets:
    """Both sets from PostgreSQL: two indexed queries (blocks either way; mutes not yet expired)."""
    hidden = set()
    for blocker_id, blocked_id in Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id)).values_list(
        "blocker_id", "blocked_id"
    ):
        hidden.add(blocked_id if blocker_id == user_id else blocker_id)
    mutes = tuple(
        (muted_id, expires.timestamp() if expires else None, notifications)
        for muted_id, expires, notifications in _active_mutes(user_id).values_list(
            "muted_id", "expires_at", "notifications"
        )
    )
    return cache.SafetySets(hidden=frozenset(hidden), mutes=mutes)


def safety_sets_rebuild(*, user_id: int) -> bool:
    """Cache a user's sets from PostgreSQL (the task queued by a read that missed). True if stored."""
    return cache.sets_store(user_id, _load_sets(user_id))


def _cached_sets(user_id: int, *also: str) -> tuple[cache.SafetySets | None, list | None]:
    """The cached sets (None: not cached) and the values of the keys `also` (cache.sets_cached)."""
    sets, rebuild, others = cache.sets_cached(user_id, *also)
    if rebuild:
        _queue_rebuild(user_id)
    return sets, others


def _queue_rebuild(user_id: int) -> None:
    from .tasks import safety_sets_rebuild_task  # tasks import this module

    # Off the request path, so a page costs the same SQL warm or cold; not durable (no outbox row: a read writes
    # nothing), since a rebuild lost with the broker is simply asked for again by the next read.
    enqueue(safety_sets_rebuild_task, user_id, durable=False)


def hidden_accounts(viewer: Viewer) -> AccountSet:
    """Accounts `viewer` blocks or is blocked by: each is invisible to the other on every authenticated path.
    Empty for anonymous callers (a block is between two accounts; logged out, everyone sees public content)."""
    if not getattr(viewer, "is_authenticated", False):
        return EMPTY
    return _hidden(viewer, _cached_sets(viewer.pk)[0])


def muted_accounts(viewer: Viewer, *, notifications_only: bool = False) -> AccountSet:
    """Accounts `viewer` mutes right now (all of them, or those whose notifications are muted too)."""
    if not getattr(viewer, "is_authenticated", False):
        return EMPTY
    return _muted(viewer, _cached_sets(viewer.pk)[0], notifications_only=notifications_only)


def hidden_and_muted_accounts(viewer: Viewer, *, notifications_only: bool = False) -> tuple[AccountSet, AccountSet]:
    """Both sets at the price of one: a page that needs both reads the cache once."""
    hidden, muted, _ = hidden_and_muted_accounts_with(viewer, notifications_only=notifications_only)
    return hidden, muted


def hidden_and_muted_accounts_with(
    viewer: Viewer, *keys: str, notifications_only: bool = False
) -> tuple[AccountSet, AccountSet, list | None]:
    """`hidden_and_muted_accounts`, and the values of `keys` in the same Redis (REDIS_URL) read in the same round
    trip: a page that needs another cached value besides the sets (e.g. the trending ranking) pays for one. None
    instead of the values when nothing was read: no Redis, Redis cannot answer, or an anonymous viewer (who has no
    sets to read them with)."""
    if not getattr(viewer, "is_authenticated", False):
        return EMPTY, EMPTY, None
    sets, others = _cached_sets(viewer.pk, *keys)
    return _hidden(viewer, sets), _muted(viewer, sets, notifications_only=notifications_only), others


def safety_sets_key(user_id: int) -> str:
    """Where the user's sets are cached in REDIS_URL's Redis. A page that reads that Redis in a command of its own
    (a script) reads this key in it too and hands the value to `hidden_and_muted_accounts_from`: one round trip
    for both, where `hidden_and_muted_accounts_with` cannot name a script."""
    return cache.sets_key(user_id)


def hidden_and_muted_accounts_from(
    viewer: User, raw: bytes | None, *, notifications_only: bool = False
) -> tuple[AccountSet, AccountSet]:
    """`hidden_and_muted_accounts` of an authenticated `viewer` from `raw`, the value just read at
    `safety_sets_key(viewer.pk)` (None: the key is missing, and a rebuild is queued as on any miss)."""
    sets, rebuild = cache.sets_decoded(viewer.pk, raw)
    if rebuild:
        _queue_rebuild(viewer.pk)
    return _hidden(viewer, sets), _muted(viewer, sets, notifications_only=notifications_only)


def _hidden(viewer: User, sets: cache.SafetySets | None) -> AccountSet:
    if sets is not None:
        return AccountSet(ids=sets.hidden, name="hidden")
    me = Param("viewer", viewer.pk)
    return AccountSet(
        subqueries=(
            Block.objects.filter(blocker_id=me).values("blocked_id"),
            Block.objects.filter(blocked_id=me).values("blocker_id"),
        ),
        name="hidden",
        params={"viewer": viewer.pk},
    )


def _muted(viewer: User, sets: cache.SafetySets | None, *, notifications_only: bool) -> AccountSet:
    name = "muted_notifications" if notifications_only else "muted"
    if sets is not None:
        return AccountSet(ids=sets.muted(notifications_only=notifications_only), name=name)
    now = timezone.now()
    mutes = _active_mutes(Param("viewer", viewer.pk), now=Param(f"{name}_at", now))
    if notifications_only:
        mutes = mutes.filter(notifications=True)
    return AccountSet(
        subqueries=(mutes.values("muted_id"),), name=name, params={"viewer": viewer.pk, f"{name}_at": now}
    )


def blocked_between(*, user_id: int, others: list[int]) -> list[int]:
    """Which of `others` a block stands between with `user_id`, either way (one query, for a batch)."""
    rows = Block.objects.filter(
        Q(blocker_id=user_id, blocked_id__in=others) | Q(blocked_id=user_id, blocker_id__in=others)
    ).values_list("blocker_id", "blocked_id")
    return sorted({blocked if blocker == user_id else blocker for blocker, blocked in rows})


def block_list(*, user: User) -> PreparedSource:
    """The accounts `user` blocks (active ones: a closed account has no profile to show), blocked account joined
    (only what its public profile shows); a prepared source for the pagination (newest block first)."""

    def build() -> QuerySet[Block]:
        return (
            Block.objects.filter(blocker_id=Param("viewer", user.pk), blocked__is_active=True)
            .select_related("blocked", "blocked__avatar")
            .only(*public_profile_columns("blocked__"))
        )

    return PreparedSource(key=("safety.blocks",), values={"viewer": user.pk}, build=build)


def mute_list(*, user: User) -> QuerySet[Mute]:
    """`user`'s mutes still in force, newest first, annotated `follows_muted` (muting someone you follow is the
    common case: their profile card must say so)."""
    # Through the relation the follows app declares on User: safety never imports follows (siblings).
    follows_muted = Exists(User.objects.filter(pk=user.pk, following_set__followee_id=OuterRef("muted_id")))
    return (
        _active_mutes(user.pk)
        .filter(muted__is_active=True)
        .select_related("muted", "muted__avatar")
        .annotate(follows_muted=follows_muted)
        .order_by("-id")
    )


RELATIONSHIPS_MAX = 50


def relationships(*, viewer: User, usernames: list[str]) -> list[User]:
    """`viewer`'s relationship with each named active account, in the order asked (unknown names left out), as
    users annotated `following`, `followed_by`, `requested`, `blocking`, `blocked_by`, `muting`. One query.

    Blocked accounts are listed too: drawing an "Unblock" button is what this is for, and `blocked_by` is part of
    the contract (API.md)."""
    wanted = [name.lower() for name in usernames]
    # Follows through the relation the follows app declares on User: safety never imports follows (siblings).
    rows = (
        User.objects.annotate(username_lower=Lower("username"))
        .filter(username_lower__in=wanted, is_active=True)
        .annotate(
            following=Exists(User.objects.filter(pk=viewer.pk, following_set__followee_id=OuterRef("pk"))),
            followed_by=Exists(User.objects.filter(pk=OuterRef("pk"), following_set__followee_id=viewer.pk)),
            requested=Exists(User.objects.filter(pk=viewer.pk, follow_requests_sent__target_id=OuterRef("pk"))),
            blocking=Exists(Block.objects.filter(blocker_id=viewer.pk, blocked_id=OuterRef("pk"))),
            blocked_by=Exists(Block.objects.filter(blocker_id=OuterRef("pk"), blocked_id=viewer.pk)),
            muting=Exists(_active_mutes(viewer.pk).filter(muted_id=OuterRef("pk"))),
        )
    )
    by_name = {row.username_lower: row for row in rows}
    return [by_name[name] for name in wanted if name in by_name]


def keyword_filter_list(*, user: User) -> QuerySet[KeywordFilter]:
    """All of `user`'s filters, expired ones included (they may be edited back to life), oldest first."""
    return KeywordFilter.objects.filter(owner=user).order_by("id")


def keyword_filter_get(*, user: User, filter_id: int) -> KeywordFilter:
    """One of `user`'s filters; Http404 for anyone else's (never reveal that it exists)."""
    return get_object_or_404(KeywordFilter, pk=filter_id, owner=user)


def filtered_out(viewer: Viewer, *, context: str, text_ref: str = "text", now: datetime | None = None):
    """An expression, true for rows whose text (the column `text_ref` of the outer query, e.g. "text" or
    "post__text") matches one of `viewer`'s filters in force for `context` at `now` (default: now); None for
    anonymous callers. Its varying values are the Params "viewer" and "filters_at" (`filter_values`).

    Matched inside the page's query (a correlated NOT EXISTS over the viewer's few filters, by index), so filters
    add no query and their number does not change a page's query count. PostgreSQL matches Unicode-aware regular
    expressions case-insensitively (stored `pattern`); the embedded SQLite mode falls back to case-insensitive
    substrings (documented)."""
    if not getattr(viewer, "is_authenticated", False):
        return None
    now = timezone.now() if now is None else now
    filters = KeywordFilter.objects.filter(owner_id=Param("viewer", viewer.pk), **{f"in_{context}": True}).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=Param("filters_at", now))
    )
    if connection.vendor == "postgresql":
        match = IRegex(OuterRef(text_ref), F("pattern"))
    else:
        match = GreaterThan(StrIndex(Lower(OuterRef(text_ref)), Lower(F("phrase"))), 0)
    return Exists(filters.filter(match))


def filter_values(viewer: Viewer, now: datetime) -> dict:
    """The values `filtered_out(viewer, now=now)` binds, by Param name (for a prepared page's `values`)."""
    if not getattr(viewer, "is_authenticated", False):
        return {}
    return {"viewer": viewer.pk, "filters_at": now}


def exclude_filtered(
    qs: QuerySet,
    viewer: Viewer,
    *,
    context: str,
    text_ref: str = "text",
    readable: Q | None = None,
    now: datetime | None = None,
) -> QuerySet:
    """`qs` without the rows `viewer`'s filters for `context` hide. `readable`: the rows whose text the viewer may
    read; only those are matched. A premium post locked for the viewer must never be hidden by a filter: its
    disappearing would tell a non-premium user, filter by filter, which words its text contains."""
    condition = filtered_out(viewer, context=context, text_ref=text_ref, now=now)
    if condition is None:
        return qs
    return qs.filter(~(Q(condition) & readable)) if readable is not None else qs.filter(~condition)
