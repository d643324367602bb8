"""A real Celery worker consuming from Redis, started once per test session.

Tests about queues use the `celery_worker` fixture: it switches eager mode off for that test, so `.delay()`
really goes through the broker to the worker (a thread running Celery's own worker on all three queues).
Such tests need `transactional_db`: the worker reads committed rows through its own connection.
"""

import time

import pytest

QUEUES = ("default", "follows", "media")


@pytest.fixture(scope="session")
def _celery_worker_session(django_db_setup, django_db_blocker):
    from celery import current_app as app
    from celery.contrib.testing.worker import start_worker

    with django_db_blocker.unblock():
        app.control.purge()  # leftovers of an earlier, interrupted run must not run against this database
    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        queues=list(QUEUES),
        perform_ping_check=False,
        shutdown_timeout=10,
        loglevel="WARNING",
    ) as worker:
        yield worker


@pytest.fixture
def celery_worker(_celery_worker_session, transactional_db, settings):
    from celery import current_app as app

    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield _celery_worker_session
    app.conf.task_always_eager = True


def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it is truthy; fail the test with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")
