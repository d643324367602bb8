"""The transactional outbox (apps.common.outbox) against real brokers: a private redis-server this module starts and
freezes, a closed port, and the shared Redis with the session's Celery worker (the shared Redis is never stopped).

What it must guarantee: an event exists exactly when its change commits; a request never waits on the broker;
whatever the broker did at commit, the sweep relays the event once a broker answers, and the task that handled it
deletes its row; every task the code starts goes through it."""

import ast
import base64
import importlib
import inspect
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.apps import apps as django_apps
from django.dispatch import Signal
from django.utils import timezone

import config.celery
from apps.common import outbox
from apps.common.models import OutboxEvent
from apps.common.testing.celery_worker import wait_until
from apps.interactions.services import like_create
from apps.notifications.models import Notification
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import UserFactory

PUBLISHING = {"delay", "apply_async", "send_task", "delay_on_commit"}
APPS = Path(__file__).resolve().parents[2] / "api" / "socialnet" / "apps"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _private_app(broker_url: str, **transport) -> Celery:
    """The project's Celery configuration (routes, transport options) pointed at another broker, not eager."""
    app = Celery("outbox-test")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = broker_url
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {**app.conf.broker_transport_options, **transport}
    return app


@pytest.fixture
def current_app_is():
    """Make an app this thread's current Celery app (what the outbox publishes with); the project's app after."""

    def use(app: Celery) -> None:
        app.set_current()

    yield use
    config.celery.app.set_current()


@pytest.fixture
def private_redis(tmp_path):
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


def _liked_post():
    author, fan = UserFactory(), UserFactory()
    return PostFactory(author=author), fan


def _relay_due_now() -> None:
    OutboxEvent.objects.update(relay_after=timezone.now())


@pytest.mark.worker
def test_an_event_written_while_the_broker_is_unreachable_is_relayed_once_it_is_back(
    celery_worker, current_app_is, caplog
):
    post, fan = _liked_post()
    current_app_is(_private_app(f"redis://127.0.0.1:{_free_port()}/0"))  # nothing listens there
    like, _ = like_create(user=fan, post=post)
    outbox.relay_join()  # the after-commit publish was tried, and refused
    assert "broker unavailable" in caplog.text
    event = OutboxEvent.objects.get()
    assert (event.task, event.args) == ("apps.notifications.tasks.notification_like_task", [like.pk])
    assert not Notification.objects.exists()

    current_app_is(config.celery.app)  # the broker is back (the shared Redis, with the session's worker)
    assert outbox.outbox_sweep() == 0  # not yet due: the sweep leaves the after-commit relay its few seconds
    _relay_due_now()
    assert outbox.outbox_sweep() == 1
    wait_until(lambda: Notification.objects.filter(type="like", actor=fan).exists(), message="the like notification")
    wait_until(lambda: not OutboxEvent.objects.exists(), message="the worker to delete the handled event")


@pytest.mark.worker
def test_events_are_relayed_after_commit_and_deleted_once_handled(celery_worker, client_for):
    post, fan = _liked_post()
    assert client_for(fan).post(f"/posts/{post.pk}/like/").status_code == 201
    wait_until(lambda: Notification.objects.filter(type="like", actor=fan).exists(), message="the like notification")
    wait_until(lambda: not OutboxEvent.objects.exists(), message="the worker to delete the handled event")


@pytest.mark.django_db(transaction=True)
def test_a_hung_broker_does_not_hold_the_request(private_redis, current_app_is, client_for):
    server, url = private_redis
    post, fan = _liked_post()
    # A publish against the frozen broker stays blocked until it thaws (no timeout gets it out earlier)...
    current_app_is(_private_app(url, socket_timeout=120))
    os.kill(server.pid, signal.SIGSTOP)  # hung, not refused: connections are accepted, nothing answers
    try:
        # ...yet the request answers: it only wrote the outbox row.
        assert client_for(fan).post(f"/posts/{post.pk}/like/").status_code == 201
        event = OutboxEvent.objects.get()
    finally:
        os.kill(server.pid, signal.SIGCONT)
    outbox.relay_join()  # the relay thread's publish, blocked until now, completes
    queued = [json.loads(raw) for raw in redis.Redis.from_url(url).lrange("default", 0, -1)]
    durable = [m for m in queued if outbox.HEADER in m["headers"]]  # (a safety-cache rebuild went too, rowless)
    assert [(m["headers"]["task"], m["headers"][outbox.HEADER]) for m in durable] == [
        ("apps.notifications.tasks.notification_like_task", event.pk)
    ]
    args, _, _ = json.loads(base64.b64decode(durable[0]["body"]))
    assert args == event.args
    # Published: the sweep now leaves the row to the broker and the workers for a lease (the visibility timeout)
    # instead of duplicating a task that is merely queued.
    event.refresh_from_db()
    assert event.relay_after > timezone.now() + timedelta(minutes=10)
    assert outbox.outbox_sweep() == 0


@pytest.mark.django_db
def test_the_sweep_is_bounded_oldest_first_and_gives_up_after_max_relays(settings, caplog):
    settings.OUTBOX_MAX_RELAYS = 3
    post = PostFactory()
    likes = [like_create(user=UserFactory(), post=post)[0] for _ in range(3)]  # on_commit never runs here
    events = list(OutboxEvent.objects.order_by("id"))
    _relay_due_now()
    OutboxEvent.objects.filter(pk=events[0].pk).update(relays=3)  # relayed three times and still not handled
    assert outbox.outbox_sweep(limit=2) == 1  # the first is given up on, the second relayed (and handled)
    assert "giving up on event" in caplog.text
    dead = OutboxEvent.objects.get(pk=events[0].pk)
    assert dead.relay_after is None  # kept for an operator, out of the sweep's way
    assert list(OutboxEvent.objects.values_list("args", flat=True).order_by("id")) == [[likes[0].pk], [likes[2].pk]]
    assert outbox.outbox_sweep() == 1
    assert outbox.outbox_waiting() == {"waiting": 1, "overdue": 0, "dead": 1}


def _receiver_kwargs(receiver) -> dict:
    """Plausible ids for a receiver's keyword-only parameters (receivers only enqueue: the ids need not exist)."""
    kwargs = {}
    for name, param in inspect.signature(receiver).parameters.items():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        kwargs[name] = True if name == "created" else [7, 8] if name.endswith("_ids") else 7
    return kwargs


@pytest.mark.django_db
def test_every_receiver_enqueues_through_the_outbox():
    walked = 0
    for app_config in django_apps.get_app_configs():
        if not app_config.name.startswith("apps."):
            continue
        try:
            module = importlib.import_module(f"{app_config.name}.signals")
        except ModuleNotFoundError:
            continue
        for signal_name, sig in vars(module).items():
            if not isinstance(sig, Signal):
                continue
            for receiver in sig._live_receivers(sender=None)[0]:
                before = OutboxEvent.objects.count()
                receiver(sender=None, signal=sig, **_receiver_kwargs(receiver))
                assert OutboxEvent.objects.count() > before, f"{receiver.__qualname__} ({signal_name}) wrote no row"
                walked += 1
    assert walked >= 12  # feed, notifications, follows: every receiver there is


def test_nothing_publishes_to_celery_but_the_outbox():
    """Only apps.common.outbox talks to the broker: `.delay`, `.apply_async`, `send_task` anywhere else would be a
    second way to enqueue, one that loses work when the broker is down."""
    allowed = APPS / "common" / "outbox.py"
    offenders = []
    for path in APPS.rglob("*.py"):
        if path == allowed or "tests" in path.parts or "testing" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {
                "delay",
                "apply_async",
                "send_task",
                "delay_on_commit",
            }:
                offenders.append(f"{path.relative_to(APPS)}:{node.lineno} .{node.attr}")
    assert offenders == []
