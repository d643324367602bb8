"""A user's safety sets (who is hidden from them by a block either way, whom they mute) cached in Redis.

Every page reads them. From the cache they are literal ids in the page's query (one Redis GET, one key per user
holding both sets); on a miss the page's query carries them as subqueries instead, so a page costs the same number
of SQL queries warm or cold, and a rebuild of the key from PostgreSQL is queued off the request path. With Redis
down or absent (embedded mode) every page simply uses the subqueries: slower, never wrong.

Invalidation must never let a stale set win, since a stale set leaks a blocked account. A rebuild that read
PostgreSQL just before a block committed would otherwise store the old set right after the writer deleted it. So
a write replaces the key with a short-lived tombstone (inside its transaction and again after commit), and
rebuilds store only with SET NX: while the tombstone lives, readers use the subqueries and nothing is stored; once
it expires any rebuild starts after the commit. If Redis cannot be told (down at that moment), CACHE_TTL bounds
how long an old set may survive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import redis
from django.db import transaction
from django.utils import timezone

from apps.common.redis import redis_client

logger = logging.getLogger(__name__)

CACHE_TTL = 3600
TOMBSTONE = b"-"
TOMBSTONE_TTL = 30  # outlives any rebuild that read the database before the write committed
REBUILD_PENDING_TTL = 10  # one queued rebuild per user at a time, however many reads miss meanwhile


@dataclass(frozen=True)
class SafetySets:
    hidden: frozenset[int]  # accounts blocked by the user or blocking the user
    mutes: tuple[tuple[int, float | None, bool], ...]  # (muted id, expiry as a UNIX time or None, notifications)

    def muted(self, *, notifications_only: bool = False, now: datetime | None = None) -> frozenset[int]:
        """Accounts muted right now: an expired mute is over even while its row (and this cache) still holds it."""
        stamp = (now or timezone.now()).timestamp()
        return frozenset(
            uid
            for uid, expires, notifications in self.mutes
            if (expires is None or expires > stamp) and (notifications or not notifications_only)
        )


def sets_key(user_id: int) -> str:
    """The key of a user's sets in REDIS_URL's Redis: a caller reading that Redis anyway may read it there too and
    hand its value to `sets_decoded`."""
    return f"safety:sets:{user_id}"


def _pending_key(user_id: int) -> str:
    return f"safety:rebuilding:{user_id}"


def _encode(sets: SafetySets) -> str:
    return json.dumps({"h": sorted(sets.hidden), "m": [list(m) for m in sets.mutes]}, separators=(",", ":"))


def _decode(raw: bytes) -> SafetySets:
    data = json.loads(raw)
    return SafetySets(hidden=frozenset(data["h"]), mutes=tuple((int(u), e, bool(n)) for u, e, n in data["m"]))


def sets_cached(user_id: int, *also: str) -> tuple[SafetySets | None, bool, list | None]:
    """(the cached sets or None, whether a rebuild should be queued (`sets_decoded`), the values of the keys `also`
    in the same Redis, read in the same round trip: None instead of the list when Redis cannot answer)."""
    client = redis_client()
    if client is None:
        return None, False, None
    try:
        raw, *others = client.mget(sets_key(user_id), *also)
    except redis.RedisError:
        logger.warning("safety: Redis unavailable, user %s's sets come from the database", user_id)
        return None, False, None
    return *sets_decoded(user_id, raw), others


def sets_decoded(user_id: int, raw: bytes | None) -> tuple[SafetySets | None, bool]:
    """The sets in `raw`, the value just read at `sets_key(user_id)` (None: the key is missing), or None when it
    holds none (missing, a tombstone, unreadable); and whether a rebuild should be queued: the key is missing, and
    no other read has queued one in the last REBUILD_PENDING_TTL seconds."""
    if raw is None:
        client = redis_client()
        if client is None:
            return None, False
        # Several reads of one request (or of concurrent requests) miss together: queue one rebuild.
        try:
            return None, bool(client.set(_pending_key(user_id), 1, nx=True, ex=REBUILD_PENDING_TTL))
        except redis.RedisError:
            logger.warning("safety: Redis unavailable, user %s's sets are not rebuilt", user_id)
            return None, False
    if raw == TOMBSTONE:
        return None, False
    try:
        return _decode(raw), False
    except (ValueError, KeyError, TypeError):
        logger.warning("safety: unreadable cached sets for user %s", user_id)
        return None, False


def sets_store(user_id: int, sets: SafetySets) -> bool:
    """Store sets just read from the database, unless a key (a tombstone or fresher sets) is already there."""
    client = redis_client()
    if client is None:
        return False
    try:
        stored = bool(client.set(sets_key(user_id), _encode(sets), ex=CACHE_TTL, nx=True))
        client.delete(_pending_key(user_id))
    except redis.RedisError:
        logger.warning("safety: cannot cache user %s's sets", user_id)
        return False
    return stored


def _tombstone(user_ids: Iterable[int]) -> None:
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for uid in user_ids:
            pipe.set(sets_key(uid), TOMBSTONE, ex=TOMBSTONE_TTL)
        pipe.execute()
    except redis.RedisError:
        logger.warning("safety: cannot invalidate the cached sets of users %s", list(user_ids), exc_info=True)


def sets_changed(*user_ids: int) -> None:
    """Call inside the transaction that changes blocks or mutes of these users: invalidates now and after commit."""
    _tombstone(user_ids)
    transaction.on_commit(lambda: _tombstone(user_ids))
