"""The transactional outbox: how work reaches Celery (callers use `apps.common.tasks.enqueue`).

A change and the work it calls for must not part ways: publishing to the broker after commit loses the work when the
broker is down (95 of 95 like notifications made during a 60 s Redis outage were lost that way), and publishing in
the request holds the request when the broker hangs. So:

1. `outbox_write` inserts an `OutboxEvent` row in the caller's transaction: it commits or rolls back with the change.
2. After commit the event is handed to a relay thread of this process, which publishes it (one attempt, the broker's
   socket timeouts), then moves the row's `relay_after` a lease ahead (one UPDATE per batch it published). The
   request only ever wrote a row: a hung broker holds the relay thread, never a request. In the embedded mode
   (tasks eager, no broker) the task runs inline after commit instead, as it always has.
3. The message carries the row's id in a header; the task deletes the row when it has run (`RetryingTask`).
4. `outbox_sweep` (beat, every OUTBOX_SWEEP_SECONDS) publishes the rows whose `relay_after` passed: never published
   (broker down at commit, the relay's queue lost with its process) OUTBOX_RELAY_AFTER_SECONDS after commit; published
   but not handled within the lease (a task that failed for good, a message lost with a Redis restart or a killed
   worker). The lease, OUTBOX_LEASE_SECONDS, defaults to the broker's visibility_timeout: by then the broker has
   redelivered a message whose worker died, and every task's time limit is below it, so the sweep does not
   duplicate a task that is merely queued or still running. After OUTBOX_MAX_RELAYS sweeps a row is kept as dead
   and logged.

A row may still be published twice (the sweep overtaking a relay thread that is behind): every task is idempotent,
which is what makes that harmless and no dedupe index necessary. Rows are not deduplicated by content either: the
same event may legitimately happen twice (follow, unfollow, follow), and each must be relayed in its turn.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from .models import OutboxEvent

logger = logging.getLogger(__name__)

BROKER_ERRORS = (OperationalError, RedisError, ConnectionError, TimeoutError)
HEADER = "outbox_event_id"  # the message header that names the row its task deletes
RELAY_QUEUE_MAX = 10_000  # events waiting for the relay thread; past it they are left to the sweep
RELAY_BATCH = 100  # events the relay thread publishes before recording them in one UPDATE


def outbox_write(task, args: list, *, durable: bool = True) -> None:
    """Record `task(*args)` in the current transaction and publish it once that commits.

    `durable=False` is for best-effort work that must not cost a write on a read path (rebuilding a cache that a
    read found missing): no row, the same after-commit relay, lost with the broker like any cache entry."""
    app = current_app._get_current_object()
    bound = app.tasks[task.name]  # the app of this thread (tests point one at a private broker)
    event_id = None
    if durable:
        event_id = OutboxEvent.objects.create(
            task=task.name,
            args=args,
            relay_after=timezone.now() + timedelta(seconds=settings.OUTBOX_RELAY_AFTER_SECONDS),
        ).pk
    if app.conf.task_always_eager:
        # The embedded mode and unit tests: no broker, the task runs here after commit (and deletes its row).
        transaction.on_commit(lambda: _publish(bound, args, event_id))
    else:
        transaction.on_commit(lambda: _relay.submit((bound, args, event_id)))


def _publish(task, args: list, event_id: int | None) -> None:
    headers = {HEADER: event_id} if event_id is not None else None
    task.apply_async(args, headers=headers, retry=False)


def outbox_event_id(request) -> int | None:
    """The outbox row a running task was published for (None: not from the outbox)."""
    return (getattr(request, "headers", None) or {}).get(HEADER)


def outbox_event_done(event_id: int) -> None:
    OutboxEvent.objects.filter(pk=event_id).delete()


class _Relay:
    """One daemon thread per process that publishes committed events, so no request waits on the broker."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._queue: queue.Queue | None = None

    def submit(self, item) -> None:
        try:
            self._started().put_nowait(item)
        except queue.Full:
            logger.warning("outbox: relay queue full, %s left to the sweep", item[0].name)

    def join(self) -> None:
        """Wait until everything submitted so far was published or given up on (tests)."""
        self._started().join()

    def _started(self) -> queue.Queue:
        # Threads do not survive fork (gunicorn and Celery prefork children): each process starts its own.
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.Queue(maxsize=RELAY_QUEUE_MAX)
                    threading.Thread(target=self._run, args=(self._queue,), name="outbox-relay", daemon=True).start()
                    self._pid = os.getpid()
        return self._queue

    def _run(self, events: queue.Queue) -> None:
        while True:
            batch = [events.get()]
            while len(batch) < RELAY_BATCH:
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            try:
                _leased(_publish_batch(events, batch))
            finally:
                for _ in batch:
                    events.task_done()


def _publish_batch(events: queue.Queue, batch: list) -> list[int]:
    published = []
    for task, args, event_id in batch:
        try:
            _publish(task, args, event_id)
        except BROKER_ERRORS:
            # The broker is down or hung: each further attempt would wait its socket timeout too. Leave the rest of
            # the batch and what is queued to the sweep, which runs once the broker is back.
            dropped = _drain(events) + len(batch) - len(published) - 1
            logger.warning(
                "outbox: broker unavailable; %s%r and %d other event(s) left to the sweep",
                task.name,
                tuple(args),
                dropped,
                exc_info=True,
            )
            break
        except Exception:
            logger.exception("outbox: could not publish %s%r; left to the sweep", task.name, tuple(args))
            continue
        if event_id is not None:
            published.append(event_id)
    return published


def _leased(event_ids: list[int]) -> None:
    """Published: the sweep leaves these rows to the broker and the workers for a lease."""
    if not event_ids:
        return
    try:
        OutboxEvent.objects.filter(pk__in=event_ids, relay_after__isnull=False).update(relay_after=_lease_end())
    except Exception:  # the database blinked: the sweep may publish these again, which is harmless
        logger.warning("outbox: could not record %d published event(s)", len(event_ids), exc_info=True)
    finally:
        connection.close()  # this thread's connection goes back to the pool (or away) between batches


def _drain(events: queue.Queue) -> int:
    dropped = 0
    while True:
        try:
            events.get_nowait()
        except queue.Empty:
            return dropped
        events.task_done()
        dropped += 1


_relay = _Relay()
relay_join = _relay.join


def _lease_end():
    return timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def outbox_sweep(*, limit: int | None = None) -> int:
    """Publish up to OUTBOX_SWEEP_BATCH rows whose time came (oldest due first); returns how many were published.

    Rows are claimed with SKIP LOCKED, so two sweeps never publish the same row at once. A broker error stops the
    sweep without counting a relay: nothing was delivered, the rows are simply due again next time."""
    app = current_app._get_current_object()
    now = timezone.now()
    published: list[OutboxEvent] = []
    with transaction.atomic():
        due = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(relay_after__lte=now)
            .order_by("relay_after", "id")[: limit or settings.OUTBOX_SWEEP_BATCH]
        )
        for event in due:
            if event.relays >= settings.OUTBOX_MAX_RELAYS or event.task not in app.tasks:
                event.relay_after = None
                logger.error("outbox: giving up on event %s, %s (relayed %d times)", event.pk, event, event.relays)
            else:
                try:
                    _publish(app.tasks[event.task], event.args, event.pk)
                except BROKER_ERRORS:
                    logger.warning("outbox: broker unavailable, sweep stopped", exc_info=True)
                    break
                event.relays += 1
                event.relay_after = _lease_end()
            published.append(event)
        OutboxEvent.objects.bulk_update(published, ["relay_after", "relays"])
    count = sum(1 for event in published if event.relay_after is not None)
    if count:
        logger.info("outbox: swept %d event(s)", count)
    return count


def outbox_waiting() -> dict[str, int]:
    """For /health/: rows not handled yet, and how many of them are overdue or dead (worth an alert)."""
    now = timezone.now()
    return OutboxEvent.objects.aggregate(
        waiting=Count("id"),
        overdue=Count("id", filter=Q(relay_after__lte=now - timedelta(minutes=1))),
        dead=Count("id", filter=Q(relay_after__isnull=True)),
    )
