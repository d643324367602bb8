"""Home timelines in Redis: one sorted set per user, member = score = post id, capped. Beside each, what else is
kept per reader: the list of followed celebrities and the "for you" ranking.

A timeline is *complete* only while it holds the sentinel member "0" (score 0): it is written, together with the
posts, by a rebuild from PostgreSQL. Fan-out may create a set for a user whose timeline expired or was never built;
without the sentinel such a set is a fragment, and the next read rebuilds it instead of trusting it. The sentinel
also keeps an empty timeline (a user who follows nobody) from looking missing and being rebuilt on every read.

The store is a single Redis or, with FEED_REDIS_CLUSTER, a Redis Cluster. Every key of one user carries the user's
id as its hash tag (`feed:{42}:home`), so they share a slot: what one read names sits on one node and costs one
round trip either way. A cluster refuses a command naming keys of different slots, so a write to many
users' timelines is split per slot (see `_by_server`).

Every function here may raise `redis.RedisError`; callers on the request path catch it and query the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis
from django.conf import settings
from redis.crc import key_slot

from apps.common.redis import redis_client, run_script

from .ranking import RankedEntries, Reason, Recommendations

SENTINEL = "0"


def timeline_client() -> redis.Redis | redis.RedisCluster | None:
    """The Redis holding timelines: FEED_REDIS_URL if set (a separate instance, a Redis Cluster with
    FEED_REDIS_CLUSTER, or a dead port in tests and the benchmark), else the shared one. None in the embedded mode:
    every read then takes the database path. Raises `redis.RedisError` when a cluster cannot be reached."""
    if settings.FEED_REDIS_URL:
        return redis_client("FEED_REDIS_URL", cluster=settings.FEED_REDIS_CLUSTER)
    return redis_client("REDIS_URL")


def _user_tag(user_id: int) -> str:
    # Redis Cluster hashes only what is between the braces: every key of one user lands in one slot.
    return f"{{{user_id}}}"


def timeline_key(user_id: int) -> str:
    return f"feed:{_user_tag(user_id)}:home"


def _ttl_seconds() -> int:
    # A timeline nobody read for FEED_INACTIVE_DAYS is stale anyway (fan-out skipped its owner): let Redis drop it.
    return settings.FEED_INACTIVE_DAYS * 86400


def _trim(pipe, key: str) -> None:
    # Keep rank 0 (the sentinel, score 0, when present) and the newest FEED_TIMELINE_MAX posts.
    pipe.zremrangebyrank(key, 1, -(settings.FEED_TIMELINE_MAX + 1))


# One round trip and one command per batch (per slot group on a cluster): ZADD + trim for every key inside Redis.
# Building a 2 000-command pipeline costs more Python time than Redis spends executing it; a script call costs one
# command. ARGV: the post id (member and score alike), cap, ttl. Rank 0 (the sentinel, when present) survives the
# trim. A set this call creates (a fragment: its owner never read their feed or it expired) gets the TTL too, so
# nobody's set lives forever.
_PUSH_SCRIPT = """
local cap = tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 1, -(cap + 1))
  if redis.call('TTL', KEYS[i]) == -1 then
    redis.call('EXPIRE', KEYS[i], ARGV[3])
  end
end
return #KEYS
"""
_PUSH_SHA = hashlib.sha1(_PUSH_SCRIPT.encode(), usedforsecurity=False).hexdigest().encode()


def _by_server(client, keys: list[bytes]) -> list[tuple[redis.Redis, list[list[bytes]]]]:
    """`keys` by the server holding them, each server's split into groups that one command may name together.

    A single Redis: one server, one group. A Redis Cluster: the node owning each key's slot, one group per slot
    (a command naming keys of two slots is refused, even when one node owns both). With one tag per user, a batch
    of a thousand followers is close to a thousand groups spread over the nodes: each node still gets them in one
    pipelined round trip."""
    if not isinstance(client, redis.RedisCluster):
        return [(client, [keys])]
    servers: dict[str, tuple[object, dict[int, list[bytes]]]] = {}
    for key in keys:
        slot = key_slot(key)
        node = client.nodes_manager.get_node_from_slot(slot)
        servers.setdefault(node.name, (node, {}))[1].setdefault(slot, []).append(key)
    return [(client.get_redis_connection(node), list(groups.values())) for node, groups in servers.values()]


def _push_one(client, keys: list[str], post_id: int) -> None:
    """ZADD + trim (+ TTL on a set this creates) of one post into every key: one script call per slot group, each
    server's calls in one pipeline."""
    # Encoded once here rather than by redis-py for each of the (on a cluster) thousand calls of a batch: packing
    # the commands is most of a cluster fan-out's time.
    args = [str(arg).encode() for arg in (post_id, settings.FEED_TIMELINE_MAX, _ttl_seconds())]
    try:
        for server, groups in _by_server(client, [key.encode() for key in keys]):
            _push_calls(server, groups, args)
    except (redis.exceptions.MovedError, redis.exceptions.AskError):
        # Slots moved (a resharding, a failover): learn their new owners, so that the task's retry writes there.
        client.nodes_manager.initialize()
        raise


def _push_calls(server: redis.Redis, groups: list[list[bytes]], args: list[bytes]) -> None:
    # EVALSHA, and the script loaded only when a server says it lacks it (new, restarted or flushed): redis-py's
    # Script in a pipeline would ask every server whether it has the script first, a round trip per call.
    for attempt in range(2):
        pipe = server.pipeline(transaction=False)
        for group in groups:
            pipe.execute_command("EVALSHA", _PUSH_SHA, len(group), *group, *args)
        try:
            pipe.execute()
            return
        except redis.exceptions.NoScriptError:
            if attempt:
                raise
            server.script_load(_PUSH_SCRIPT)  # then run the batch again: ZADD makes the repeat harmless


def timeline_push(*, client: redis.Redis, user_ids: Iterable[int], post_ids: Sequence[int]) -> None:
    """Add posts to several timelines. ZADD is idempotent: running it twice changes nothing."""
    keys = [timeline_key(uid) for uid in user_ids]
    if not post_ids or not keys:
        return
    if len(post_ids) == 1:
        _push_one(client, keys, post_ids[0])
        return
    # Several posts (backfill) into one timeline: a plain pipeline is simpler and just as cheap. Each command names
    # one key, so a cluster's pipeline sends each to its node.
    mapping = {str(pid): pid for pid in post_ids}
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.zadd(key, mapping)
        _trim(pipe, key)
    pipe.execute()


def timeline_remove(*, client: redis.Redis, user_ids: Iterable[int], post_ids: Sequence[int]) -> None:
    if not post_ids:
        return
    members = [str(pid) for pid in post_ids]
    pipe = client.pipeline(transaction=False)
    for uid in user_ids:
        pipe.zrem(timeline_key(uid), *members)
    pipe.execute()


# The fan-out markers are per post, and every command on them names one key: nothing to tag for a cluster.
def _done_key(post_id: int) -> str:
    return f"feed:fanned:{post_id}"


def fanout_mark_done(*, client: redis.Redis, post_id: int) -> None:
    # Outlives the sweeper's window (30 min), then expires: nothing to clean up.
    client.set(_done_key(post_id), 1, ex=3600)


def _pending_key(post_id: int) -> str:
    return f"feed:fanpending:{post_id}"


def fanout_start(*, client: redis.Redis, post_id: int, batch_heads: Sequence[int]) -> None:
    """Record the batches a fan-out still has to write, each named by its first user id (batches are disjoint).

    The done marker is written only when the last of them is in (fanout_batch_written): a worker killed mid-fan-out
    leaves the post unmarked and the sweeper redoes it, instead of trusting a marker set before any batch ran.
    With no batch to write the fan-out is done already."""
    if not batch_heads:
        fanout_mark_done(client=client, post_id=post_id)
        return
    pipe = client.pipeline(transaction=False)
    pipe.delete(_pending_key(post_id))
    pipe.sadd(_pending_key(post_id), *[str(h) for h in batch_heads])
    pipe.expire(_pending_key(post_id), 3600)
    pipe.execute()


def fanout_batch_written(*, client: redis.Redis, post_id: int, batch_head: int) -> None:
    """One batch is in; the last one marks the fan-out done. Two batches finishing together may both see the set
    empty and both mark it: harmless. A batch of a fan-out started again by the sweeper is in the new set too."""
    pipe = client.pipeline(transaction=False)
    pipe.srem(_pending_key(post_id), str(batch_head))
    pipe.scard(_pending_key(post_id))
    _, left = pipe.execute()
    if left == 0:
        fanout_mark_done(client=client, post_id=post_id)


def fanout_done(*, client: redis.Redis, post_ids: Sequence[int]) -> list[bool]:
    if not post_ids:
        return []
    pipe = client.pipeline(transaction=False)
    for pid in post_ids:
        pipe.exists(_done_key(pid))
    return [bool(v) for v in pipe.execute()]


def timeline_is_complete(*, client: redis.Redis, user_id: int) -> bool:
    return client.zscore(timeline_key(user_id), SENTINEL) is not None


def timeline_oldest_id(*, client: redis.Redis, user_id: int) -> int | None:
    """The oldest post id kept, or None when the timeline is not full (so it holds everything it should)."""
    key = timeline_key(user_id)
    if client.zcard(key) <= settings.FEED_TIMELINE_MAX:
        return None
    rows = client.zrange(key, 1, 1, withscores=True)
    return int(rows[0][1]) if rows else None


def timeline_members(*, client: redis.Redis, user_id: int) -> list[int]:
    """Every post id in the timeline (at most FEED_TIMELINE_MAX)."""
    return [int(m) for m in client.zrange(timeline_key(user_id), 0, -1) if m != SENTINEL.encode()]


def timeline_replace(*, client: redis.Redis, user_id: int, post_ids: Sequence[int]) -> None:
    """Atomically swap in a complete timeline built from the database."""
    key = timeline_key(user_id)
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    pipe.zadd(key, {SENTINEL: 0, **{str(pid): pid for pid in post_ids}})
    pipe.expire(key, _ttl_seconds())
    pipe.execute()


# How long a user's list of followed celebrities is cached (follow/unfollow drop it at once).
CELEBRITIES_TTL = 300


def celebrities_key(user_id: int) -> str:
    # The threshold is part of the key: changing the setting must not serve lists computed under the old one. The
    # user's tag puts it beside their timeline: timeline_read fetches both in one command.
    return f"feed:{_user_tag(user_id)}:celebs:{settings.FEED_CELEBRITY_THRESHOLD}"


def celebrities_store(*, client: redis.Redis, user_id: int, author_ids: Sequence[int]) -> None:
    # The format timeline_read's script returns the ids in too.
    client.set(celebrities_key(user_id), ",".join(map(str, author_ids)), ex=CELEBRITIES_TTL)


def follows_changed(*, client: redis.Redis, user_id: int) -> None:
    """The user followed or unfollowed someone: drop what was derived from whom they follow, their cached celebrity
    list and their "for you" ranking (one command: both keys sit in the user's slot)."""
    client.delete(celebrities_key(user_id), recommended_key(user_id))


# A reader's "for you" ranking (ranking.Recommendations), packed: every page of "for you" reads all of it, and
# through Django's cache (a client object per call, then unpickling a thousand tuples and a dict) that read cost
# twice the CPU it costs here. Its entries as RankedEntries packs them, then one byte per reason (its index in
# Reason.ALL), in entry order: 17 bytes an entry. "v1" names the format. Read back into arrays, never a tuple per
# entry.
_ENTRY_BYTES = RankedEntries.ENTRY_BYTES + 1


def recommended_key(user_id: int) -> str:
    return f"feed:{_user_tag(user_id)}:recommended:v1"


def recommended_store(*, client: redis.Redis, user_id: int, recommendations: Recommendations, ttl: int) -> None:
    packed = recommendations.entries.packed() + recommendations.codes
    client.set(recommended_key(user_id), packed, ex=ttl)


def recommended_read(*, client: redis.Redis, user_id: int) -> Recommendations | None:
    """The cached ranking, or None when there is none (expired, dropped, never computed, or unreadable)."""
    return recommended_unpacked(client.get(recommended_key(user_id)))


def recommended_unpacked(raw: bytes | None) -> Recommendations | None:
    """The ranking `recommended_store` packed into `raw`, or None when `raw` is not one."""
    if raw is None or len(raw) % _ENTRY_BYTES:
        return None
    count = len(raw) // _ENTRY_BYTES
    codes = raw[RankedEntries.ENTRY_BYTES * count :]
    if codes and max(codes) >= len(Reason.ALL):  # a reason this version does not know: recompute, not guess
        return None
    return Recommendations(entries=RankedEntries.unpacked(raw[: RankedEntries.ENTRY_BYTES * count]), codes=codes)


@dataclass(frozen=True)
class TimelineSlice:
    complete: bool  # holds the sentinel: written by a rebuild, not a fragment left by fan-out (else nothing was read)
    ids: list[int]
    truncated: bool  # the cap cut older posts off: the caller must ask the database for what lies beyond
    celebrities: list[int] | None  # cached ids of followed authors merged at read time; None = not cached
    extra: bytes | None = None  # the value of timeline_read's `extra_key` (None: missing, or none was named)


# A home page's whole Redis work in one command: the TTL refresh when due, the completeness check, the page's ids,
# what tells whether the cap cut the page short, and the cached celebrity list. As a pipeline these were eight
# commands in two round trips (touch, then read), and redis-py's packing and parsing of each command cost more CPU
# than Redis spends running them. Both keys carry the user's hash tag: one slot, so a cluster runs it too.
# KEYS: the timeline, the celebrity list, and optionally one more key to GET (another value the page needs from
# the same single Redis, never from a cluster: its slot differs). ARGV: "newer" (oldest first from a bound) or
# "older" (newest first below a bound); the bound, a ZRANGEBYSCORE limit ("(<id>" or "+inf"); how many ids; the
# TTL to set, "0" for none.
# Reply: {1, celebrity list or nil, extra value or nil, size (the sentinel included), oldest post id kept or 0,
# "id,id,..."}, or {0, celebrity list or nil, extra value or nil} for an incomplete timeline. The ids travel as one
# string: redis-py parses a reply element by element in Python, and twenty-odd elements cost it more than the rest
# of the call. (`false` is Lua's nil reply that still keeps its place in a table.)
_READ_SCRIPT = """
local key = KEYS[1]
if ARGV[4] ~= '0' then
  redis.call('EXPIRE', key, ARGV[4])
end
local celebrities = redis.call('GET', KEYS[2])
local extra = false
if KEYS[3] then
  extra = redis.call('GET', KEYS[3])
end
if not redis.call('ZSCORE', key, '0') then
  return {0, celebrities, extra}
end
local ids
if ARGV[1] == 'newer' then
  ids = redis.call('ZRANGEBYSCORE', key, ARGV[2], '+inf', 'LIMIT', 0, ARGV[3])
else
  ids = redis.call('ZREVRANGEBYSCORE', key, ARGV[2], '(0', 'LIMIT', 0, ARGV[3])
end
local oldest = redis.call('ZRANGEBYSCORE', key, '(0', '+inf', 'LIMIT', 0, 1)[1]
return {1, celebrities, extra, redis.call('ZCARD', key), tonumber(oldest) or 0, table.concat(ids, ',')}
"""


def _id_list(joined: bytes) -> list[int]:
    return [int(x) for x in joined.split(b",")] if joined else []


def timeline_read(
    *,
    client: redis.Redis,
    user_id: int,
    max_id: int | None,
    min_id: int | None,
    limit: int,
    keep_alive: bool = False,
    extra_key: str | None = None,
) -> TimelineSlice:
    """Up to `limit` post ids: older than max_id (newest first), or newer than min_id (oldest first), plus the
    cached celebrity list, in one command. `keep_alive`: its owner was just stamped as seen, keep the timeline for
    another FEED_INACTIVE_DAYS. `extra_key`: a key of the same Redis whose value the page needs too, read in that
    command (`TimelineSlice.extra`); only on a single Redis, since a cluster refuses keys of different slots."""
    if min_id is not None:
        direction, bound = b"newer", f"({min_id}"
    else:
        direction, bound = b"older", f"({max_id}" if max_id is not None else "+inf"
    reply = run_script(
        client,
        _READ_SCRIPT,
        keys=[timeline_key(user_id), celebrities_key(user_id), *([extra_key] if extra_key else [])],
        args=[direction, bound, limit, _ttl_seconds() if keep_alive else 0],
    )
    celebrities, extra = None if reply[1] is None else _id_list(reply[1]), reply[2]
    if not reply[0]:
        return TimelineSlice(complete=False, ids=[], truncated=False, celebrities=celebrities, extra=extra)
    size, oldest, ids = reply[3], reply[4], _id_list(reply[5])
    capped = size > settings.FEED_TIMELINE_MAX  # the cap has cut older posts off (the sentinel is a member)
    # Paging back up from below the cap ("previous" from a database page): the posts between min_id and the
    # oldest one kept are not in Redis any more, so the database must answer or they would be skipped.
    below_cap = min_id is not None and oldest and min_id < oldest
    truncated = capped and (below_cap if min_id is not None else len(ids) < limit)
    return TimelineSlice(complete=True, ids=ids, truncated=bool(truncated), celebrities=celebrities, extra=extra)
