"""enqueue() against a hung broker: a private redis-server frozen with SIGSTOP (the shared one is never touched).

The request path calls enqueue() after commit; it must give up within about the broker's socket timeout, not hold
the response while Celery retries the publish (measured: every write held 5-26 s, 22 -> 1.3 req/s)."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis
from celery import Celery

from apps.common.tasks import enqueue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def frozen_redis(tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.05)
    try:
        yield server, url
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.kill()
        server.wait()


def test_enqueue_gives_up_quickly_when_the_broker_hangs(frozen_redis):
    server, url = frozen_redis
    # The project's Celery configuration (transport options, timeouts), pointed at the private broker.
    app = Celery("enqueue-test")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = url
    app.conf.task_always_eager = False

    @app.task(name="enqueue_test.noop")
    def noop(x):
        return x

    assert enqueue(noop, 1) is True  # reachable: enqueued (connection and producer now warm)
    os.kill(server.pid, signal.SIGSTOP)  # hung, not refused: the TCP connection stays open, nothing answers
    started = time.monotonic()
    assert enqueue(noop, 2) is False
    assert time.monotonic() - started < 3.0
