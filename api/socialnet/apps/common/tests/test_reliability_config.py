"""Settings that decide what survives a dead worker or a restarted PostgreSQL, checked against the real thing."""

import psycopg
import pytest
from celery import current_app
from django.conf import settings
from django.db import connection

from apps.common.postgresql import base as postgresql_base
from apps.common.postgresql.base import check_pooled_connection


def test_visibility_timeout_covers_every_task_and_no_more_than_needed():
    # A message taken by a worker that died comes back after visibility_timeout: it must outlast the longest task
    # (else a slow, live task runs twice) and retry countdowns, and be short (it was an hour: a killed worker's
    # fan-outs came back 61 minutes later).
    current_app.loader.import_default_modules()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    limits = {
        name: task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        for name, task in current_app.tasks.items()
        if name.startswith("apps.")
    }
    assert len(limits) > 20
    longest = max(limits.values())
    assert longest + 60 <= visibility, {n: t for n, t in limits.items() if t + 60 > visibility}
    assert current_app.tasks["apps.feed.tasks.fanout_post_task"].retry_backoff_max < visibility
    assert visibility <= 900


@pytest.mark.django_db(transaction=True)
def test_pooled_connections_survive_a_postgresql_restart():
    # A restart kills every server process: each pooled connection is dead without knowing it. Terminating them
    # is what the restart does to the pool; the next request must get a working connection, not a 500.
    connection.ensure_connection()
    params = connection.get_connection_params()
    params.pop("pool", None)
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        # With a timeout, pg_terminate_backend waits for each process to be gone, as a finished restart is: without
        # one it only signals, and on a loaded machine the pool could hand out a connection still being killed.
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert killed >= 1
    connection.close()  # end of a request: the (dead) connection goes back to the pool
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def _last_state_change(admin, pid):
    return admin.execute("SELECT state_change FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_pool_check_skips_the_round_trip_only_for_a_connection_in_use_moments_ago(monkeypatch):
    # The check above without its cost: no query for a connection handed out within TRUSTED_IDLE_SECONDS whose
    # socket is quiet; the query (seen by the server as a new state_change) for a first or a long-idle hand-out.
    connection.ensure_connection()
    params = connection.get_connection_params()
    params.pop("pool", None)
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as admin, psycopg.connect(**params, autocommit=True) as pooled:
        pid = pooled.info.backend_pid
        check_pooled_connection(pooled)  # never handed out before: asks the server
        asked = _last_state_change(admin, pid)
        monkeypatch.setattr(postgresql_base, "TRUSTED_IDLE_SECONDS", 60.0)  # "moments ago" even on a stalled machine
        check_pooled_connection(pooled)
        assert _last_state_change(admin, pid) == asked
        monkeypatch.setattr(postgresql_base, "TRUSTED_IDLE_SECONDS", 0.0)
        check_pooled_connection(pooled)
        assert _last_state_change(admin, pid) > asked
        # Ended by the server moments after its last use (the restart above, without its timing): the socket says so.
        monkeypatch.setattr(postgresql_base, "TRUSTED_IDLE_SECONDS", 60.0)
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError):
            check_pooled_connection(pooled)


@pytest.mark.django_db
def test_every_database_uses_the_backend_with_the_cheap_pool_check():
    for alias in settings.DATABASES:
        assert settings.DATABASES[alias]["ENGINE"] == "apps.common.postgresql", alias
    connection.ensure_connection()
    assert connection.pool._check is check_pooled_connection
