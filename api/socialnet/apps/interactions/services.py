"""Likes and views.

Likes: the unique (user, post) constraint decides races; only an actual insert or delete moves `likes_count`,
so any interleaving of likes and unlikes ends with the exact count.

Views: counted at most once per viewer and post per 24 h, off the request path. A view costs one Redis round
trip (an atomic script: `SET NX EX` on a dedupe key, then `HINCRBY` on a buffer hash); `view_buffer_flush`
(a periodic task) moves the buffer into `Post.views_count`. Without Redis (embedded mode) the dedupe key lives
in Django's cache and the buffer in this process; the flush then runs right after the request's commit.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from datetime import timedelta

import redis
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Greatest
from django.http import Http404
from django.utils import timezone

from apps.common.counters import count_of, recount_in_batches
from apps.common.redis import redis_client, run_script
from apps.common.tasks import enqueue
from apps.posts.models import Post
from apps.users.models import User

from . import signals
from .models import Like, ViewFlush

logger = logging.getLogger(__name__)

VIEW_DEDUPE_SECONDS = 24 * 3600
VIEW_BUFFER_KEY = "views:buffer"
VIEW_FLUSHING_KEY = "views:flushing"
VIEW_BATCH_FIELD = "__batch__"
VIEW_FLUSH_CHUNK = 500
VIEW_FLUSH_KEEP = timedelta(days=2)


# --- likes ----------------------------------------------------------------------------------------------------


def like_create(*, user: User, post: Post) -> tuple[Like, bool]:
    """Like `post` once. Returns (like, created); a repeat (or a lost race with the same like) is not counted."""
    with transaction.atomic():
        try:
            with transaction.atomic():  # savepoint: the unique violation must not poison the outer transaction
                like = Like.objects.create(user=user, post=post)
        except IntegrityError:
            like = Like.objects.filter(user=user, post_id=post.pk).first()
            if like is None:
                raise Http404("Not found.") from None
            return like, False
        # The update also tells whether the post still exists: the foreign key is checked only at commit, so a
        # post deleted under us shows up here as zero rows (and rolls the like back) instead of as a 500 later.
        if not Post.objects.filter(pk=post.pk).update(likes_count=F("likes_count") + 1):
            raise Http404("Not found.")

        signals.post_liked.send(sender=Like, like_id=like.pk)
        return like, True


@transaction.atomic
def like_delete(*, user: User, post: Post) -> bool:
    """Withdraw a like; idempotent. Returns whether a like was actually deleted (and uncounted)."""
    _, per_model = Like.objects.filter(user=user, post_id=post.pk).delete()
    if not per_model.get(Like._meta.label, 0):
        return False
    Post.objects.filter(pk=post.pk).update(likes_count=Greatest(F("likes_count") - 1, 0))
    return True


def likes_counters_recount(*, batch_size: int = 1000) -> int:
    """Repair `Post.likes_count` from the like rows; returns posts repaired."""
    return recount_in_batches(Post, {"likes_count": count_of(Like, "post")}, batch_size=batch_size)


# --- views ----------------------------------------------------------------------------------------------------

# KEYS[1] dedupe key, KEYS[2] buffer hash; ARGV[1] dedupe TTL, ARGV[2] post id. Atomic: a view is never counted
# without its dedupe key, nor deduped without being counted.
_RECORD_VIEW_LUA = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
return 0
"""

# Deletes the flushing hash only if it still holds the batch we applied: an overlapping flush may already have
# replaced it with the next batch, which must not be dropped unapplied.
_DELETE_BATCH_LUA = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_local_lock = threading.Lock()
_local_buffer: Counter[int] = Counter()


def _dedupe_key(post_id: int, viewer_id: int) -> str:
    return f"views:seen:{post_id}:{viewer_id}"


def view_record(*, viewer: User, post: Post) -> bool:
    """Buffer one view of `post` by `viewer` unless already counted in the last 24 h. Returns whether counted.

    Never touches PostgreSQL. Views are best effort: with Redis down the view is dropped (and logged) rather than
    failing the request or being counted without deduplication.
    """
    client = redis_client()
    if client is None:
        if not cache.add(_dedupe_key(post.pk, viewer.pk), 1, timeout=VIEW_DEDUPE_SECONDS):
            return False
        with _local_lock:
            _local_buffer[post.pk] += 1
        from .tasks import flush_view_buffer_task  # tasks import this module

        # Embedded mode has no beat: flush right after the request (tasks run in-process there). Not durable: the
        # buffer is in this process's memory anyway.
        enqueue(flush_view_buffer_task, durable=False)
        return True
    try:
        counted = run_script(
            client,
            _RECORD_VIEW_LUA,
            keys=[_dedupe_key(post.pk, viewer.pk), VIEW_BUFFER_KEY],
            args=[VIEW_DEDUPE_SECONDS, post.pk],
        )
    except redis.RedisError:
        logger.warning("views: Redis unavailable, view of post %s dropped", post.pk, exc_info=True)
        return False
    return bool(counted)


def _apply_view_counts(*, batch_id: str, counts: dict[int, int]) -> int:
    """Add `counts` to `views_count`, once per `batch_id` whatever happens around it. Returns views applied."""
    counts = {post_id: n for post_id, n in counts.items() if n > 0}
    with transaction.atomic():
        try:
            with transaction.atomic():
                ViewFlush.objects.create(batch_id=batch_id)
        except IntegrityError:
            return 0  # this batch was applied already (a retry, or an overlapping flush)
        post_ids = sorted(counts)  # a fixed lock order across concurrent flushes
        for start in range(0, len(post_ids), VIEW_FLUSH_CHUNK):
            chunk = post_ids[start : start + VIEW_FLUSH_CHUNK]
            increment = Case(
                *[When(pk=post_id, then=Value(counts[post_id])) for post_id in chunk],
                default=Value(0),
                output_field=IntegerField(),
            )
            Post.objects.filter(pk__in=chunk).update(views_count=F("views_count") + increment)
    return sum(counts.values())


def _flush_local() -> int:
    with _local_lock:
        counts = dict(_local_buffer)
        _local_buffer.clear()
    if not counts:
        return 0
    try:
        return _apply_view_counts(batch_id=uuid.uuid4().hex, counts=counts)
    except Exception:
        with _local_lock:  # put them back: the next flush retries
            _local_buffer.update(counts)
        raise


def view_buffer_flush(*, max_rounds: int = 10) -> int:
    """Move buffered views into `Post.views_count`. Idempotent and safe to run concurrently.

    The buffer is renamed to a "flushing" hash stamped with a batch id; a flush that dies half-way leaves that
    hash behind and the next run finishes it, and the batch id (a ViewFlush row written with the counters)
    keeps it from being applied twice. Returns the number of views applied.
    """
    ViewFlush.objects.filter(created_at__lt=timezone.now() - VIEW_FLUSH_KEEP).delete()
    client = redis_client()
    if client is None:
        return _flush_local()
    applied = 0
    for _ in range(max_rounds):
        if not client.exists(VIEW_FLUSHING_KEY):
            try:
                client.renamenx(VIEW_BUFFER_KEY, VIEW_FLUSHING_KEY)
            except redis.ResponseError:
                return applied  # no buffer: nothing viewed since the last flush
        client.hsetnx(VIEW_FLUSHING_KEY, VIEW_BATCH_FIELD, uuid.uuid4().hex)
        raw = client.hgetall(VIEW_FLUSHING_KEY)
        batch_id = raw.pop(VIEW_BATCH_FIELD.encode(), b"").decode()
        counts = {int(post_id): int(n) for post_id, n in raw.items()}
        if batch_id:
            applied += _apply_view_counts(batch_id=batch_id, counts=counts)
        run_script(client, _DELETE_BATCH_LUA, keys=[VIEW_FLUSHING_KEY], args=[VIEW_BATCH_FIELD, batch_id])
    return applied
