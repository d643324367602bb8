"""Reads on a real PostgreSQL streaming replica (DATABASE_REPLICA_URLS), over HTTP.

A private primary and its hot standby (pg_basebackup -R) on free ports, a private Redis, two separate Django
gunicorns on that pair and the gateway in front of the first. Writes go through the gateway to Django A and the
writer's reads to Django B, so read-your-writes is shown across processes and across the gateway.

How a read is proven to come from the replica: WAL replay is paused on the standby (`pg_wal_replay_pause()`),
so a row written afterwards exists on the primary only. A read that misses it came from the replica; a read that
sees it came from the primary.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from dataclasses import dataclass

import psycopg
import pytest
import requests
from django.db import connection
from psycopg.conninfo import make_conninfo

from apps.common.testing.servers import PostgresServer, RedisServer

from .stack import Stack, base_env, free_port, spawn_django, spawn_gateway, wait_http

# django_db: so that pytest-django prepares the suite's test database, which the fixture copies (nothing here runs
# inside its transaction: every request goes to the private servers).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

ALICE, BOB = "replica_alice", "replica_bob"
PIN_SECONDS = 2
RETRY_SECONDS = 60  # longer than this module's last test: a replica found dead is skipped (and logged) once

# One Django start for the whole setup (each costs seconds): the gateway's client and two users with tokens.
SETUP = (
    f"NAMES = {(ALICE, BOB)!r}\n"
    + """
import json
from django.core.management import call_command
from apps.users.tests.factories import UserFactory
from apps.users.tests.oauth import issue_access_token
call_command("create_gateway_client")
print(json.dumps({name: issue_access_token(UserFactory(username=name)) for name in NAMES}))
"""
)


def _copy_database(source: str, target: str) -> None:
    """The suite's test database (migrated once per session) into the private primary: migrating it again would
    cost this module 20-40 s."""
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "-d", source], capture_output=True, check=True, timeout=120
    ).stdout
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", target], input=dump, capture_output=True, check=True)


@dataclass
class Replicated:
    primary: PostgresServer
    replica: PostgresServer
    stack: Stack
    gateway: str  # in front of Django A
    django_b: str
    tokens: dict[str, str]

    def get(self, url: str, user: str | None = None) -> requests.Response:
        return requests.get(url, headers=self._headers(user), timeout=10)

    def write(self, method: str, path: str, user: str, body: dict) -> requests.Response:
        """Through the gateway, to Django A."""
        response = requests.request(method, self.gateway + path, json=body, headers=self._headers(user), timeout=10)
        assert response.status_code in (200, 201), response.text
        return response

    def _headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}


@pytest.fixture(scope="module")
def replicated(tmp_path_factory, django_db_setup):
    workdir = tmp_path_factory.mktemp("replica")
    test_database = connection.settings_dict
    # Closed in reverse order even when one of them fails: nothing may outlive the module.
    with contextlib.ExitStack() as cleanup:
        primary = PostgresServer()
        cleanup.callback(primary.close)
        redis_server = RedisServer()
        cleanup.callback(redis_server.close)
        database_url = primary.init().start().create_database("socialnet")
        redis_server.start()
        stack = Stack("full", workdir, base_env(workdir))
        cleanup.callback(stack.stop)
        stack.env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_server.url,
            DATABASE_POOL_MIN_SIZE="1",
            DATABASE_REPLICA_PIN_SECONDS=str(PIN_SECONDS),
            DATABASE_REPLICA_RETRY_SECONDS=str(RETRY_SECONDS),
        )
        source = make_conninfo(
            host=test_database["HOST"],
            port=test_database["PORT"],
            user=test_database["USER"],
            password=test_database["PASSWORD"],
            dbname=test_database["NAME"],
        )
        _copy_database(source, database_url)
        tokens = json.loads(stack.manage("shell", "-c", SETUP).strip().splitlines()[-1])
        # Once the data is in: the standby starts from it instead of replaying it.
        replica = primary.streaming_replica()
        cleanup.callback(replica.close)
        # Only the address: user, password and database come from DATABASE_URL, as docker compose uses it.
        stack.env["DATABASE_REPLICA_URLS"] = f"postgres://127.0.0.1:{replica.port}"
        django_a, django_b = free_port(), free_port()
        processes = [spawn_django(stack, "django-a", django_a, workers=1)]
        processes.append(spawn_django(stack, "django-b", django_b, workers=1))
        stack.django_url = f"http://127.0.0.1:{django_a}"
        gateway = spawn_gateway(stack, free_port())
        wait_http(f"http://127.0.0.1:{django_a}/health/", process=processes[0])
        wait_http(f"http://127.0.0.1:{django_b}/health/", process=processes[1])
        wait_http(f"{stack.gateway_url}/readyz", process=gateway)
        yield Replicated(primary, replica, stack, stack.gateway_url, f"http://127.0.0.1:{django_b}", tokens)


def _sql(url: str, query: str):
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        return conn.execute(query).fetchone()[0]


@pytest.fixture
def replay_paused(replicated):
    """WAL replay stopped on the standby for the test: what is written meanwhile is on the primary only."""
    url = replicated.replica.url("socialnet")
    _sql(url, "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while _sql(url, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "replay did not pause"
        time.sleep(0.05)
    try:
        yield
    finally:
        _sql(url, "SELECT pg_wal_replay_resume()")


def _texts(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [post["text"] for post in response.json()["results"]]


def test_reads_come_from_the_replica_except_the_writers_own_for_the_pin(replicated, replay_paused):
    word = f"paused{time.monotonic_ns()}"
    text = f"written while the replica is paused #{word}"
    post_id = replicated.write("POST", "/posts/", ALICE, {"text": text}).json()["id"]
    posts, search = f"/posts/?author={ALICE}&page_size=5", f"/search/?q={word}&type=posts"

    # The writer, in another process, right after the write: the primary.
    assert text in _texts(replicated.get(replicated.django_b + posts, ALICE))
    assert replicated.get(f"{replicated.django_b}/posts/{post_id}/", ALICE).status_code == 200
    assert text in _texts(replicated.get(replicated.django_b + search, ALICE))
    # Everyone else: the replica, which has not replayed the write.
    assert text not in _texts(replicated.get(replicated.gateway + posts, BOB))
    assert text not in _texts(replicated.get(replicated.django_b + posts))
    assert text not in _texts(replicated.get(replicated.gateway + search, BOB))
    assert replicated.get(f"{replicated.gateway}/posts/{post_id}/", BOB).status_code == 404
    # Once the pin has expired the writer reads the replica too.
    time.sleep(PIN_SECONDS + 0.5)
    assert text not in _texts(replicated.get(replicated.django_b + posts, ALICE))


def test_a_profile_change_is_read_back_by_its_author_only(replicated, replay_paused):
    bio = f"new bio {time.monotonic_ns()}"
    replicated.write("PATCH", "/users/me/", BOB, {"bio": bio})
    replicated.write("POST", f"/users/{ALICE}/follow/", BOB, {})

    mine, theirs = (
        replicated.get(f"{replicated.django_b}/users/{BOB}/", BOB).json(),
        replicated.get(f"{replicated.gateway}/users/{BOB}/", ALICE).json(),
    )
    assert (mine["bio"], mine["following_count"]) == (bio, 1)
    assert theirs["bio"] != bio and theirs["following_count"] == 0
    assert replicated.get(f"{replicated.django_b}/users/me/", BOB).json()["bio"] == bio
    assert [
        p["username"] for p in replicated.get(f"{replicated.django_b}/users/{ALICE}/followers/", BOB).json()["results"]
    ] == [BOB]
    assert replicated.get(f"{replicated.gateway}/users/{ALICE}/followers/").json()["results"] == []


def test_the_replica_catches_up_once_replay_resumes(replicated):
    text = f"replicated {time.monotonic_ns()}"
    replicated.write("POST", "/posts/", ALICE, {"text": text})
    deadline = time.monotonic() + 10
    while text not in _texts(replicated.get(f"{replicated.gateway}/posts/?author={ALICE}")):
        assert time.monotonic() < deadline, "the replica never showed the post"
        time.sleep(0.1)


def test_a_dead_replica_sends_reads_to_the_primary_without_errors(replicated):
    replicated.replica.kill()
    text = f"after the replica died {time.monotonic_ns()}"
    replicated.write("POST", "/posts/", ALICE, {"text": text})
    for _ in range(5):
        for base in (replicated.gateway, replicated.django_b):
            # Anonymous and another user: callers the replica would serve; the primary has the new post.
            assert text in _texts(replicated.get(f"{base}/posts/?author={ALICE}"))
            assert text in _texts(replicated.get(f"{base}/posts/?author={ALICE}", BOB))
            assert replicated.get(f"{base}/users/{ALICE}/", BOB).status_code == 200
    assert replicated.get(f"{replicated.gateway}/health/").status_code == 200
    # Logged once per process for the retry interval, not once per request.
    for name in ("django-a", "django-b"):
        log = replicated.stack.log_path(name).read_text()
        assert log.count("replica1 unreachable") == 1, log[-3000:]
