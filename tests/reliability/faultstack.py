"""A private SocialNet for fault tests: its own PostgreSQL and Redis (apps/common/testing/servers.py) and the
Procfile's processes under scripts/supervise.py, as `make run` runs them: each in its own process group, so a test
can kill -9 one of them (a Celery worker with its pool children), and the supervisor starts it again. The shared
services on 6379/5432 are never touched.

The fan-out sweeper (every SWEEP_INTERVAL_SECONDS, work older than SWEEP_GRACE_SECONDS) and the outbox sweep (every
OUTBOX_SWEEP_SECONDS; rows never published after OUTBOX_RELAY_AFTER_SECONDS, published but unfinished after
OUTBOX_LEASE_SECONDS) are shortened here, from a minute and a quarter of an hour, so what they recover arrives
within seconds. A short lease may run a task twice; every task is idempotent.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from apps.common.testing.servers import PostgresServer, RedisServer, free_port
from tests.e2e.stack import ROOT, Stack, base_env, wait_http

SWEEP_SECONDS = "2"
STARTED = re.compile(r"^\S+ (\S+) +\| started \(pid (\d+)\)$", re.M)


def procfile() -> dict[str, str]:
    lines = (line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    return {name.strip(): command.strip() for name, command in lines}


class FaultStack:
    """Every Procfile process against a private Redis and PostgreSQL; `kill()` one of them by name."""

    def __init__(self, workdir, *, fanout_batch_size: int):
        self.workdir = workdir
        self.redis = RedisServer()
        self.postgres = PostgresServer()
        self.commands = procfile()
        self.stack = Stack("full", workdir, base_env(workdir))
        self.django_port, self.gateway_port = free_port(), free_port()
        self.gateway_url = f"http://127.0.0.1:{self.gateway_port}"
        self.fanout_batch_size = fanout_batch_size
        self.supervisor: subprocess.Popen | None = None

    def start_all(self) -> FaultStack:
        self.redis.start()
        self.postgres.init().start()
        database_url = self.postgres.create_database("socialnet_faults")
        self.stack.env.update(
            DATABASE_URL=database_url,
            REDIS_URL=self.redis.url,
            DJANGO_BIND=f"127.0.0.1:{self.django_port}",
            GATEWAY_BIND=f"127.0.0.1:{self.gateway_port}",
            GATEWAY_UPSTREAM_URL=f"http://127.0.0.1:{self.django_port}",
            GATEWAY_WORKERS="1",
            GATEWAY_RATELIMIT_ENABLED="false",  # a client loop is not an abuser
            THROTTLE_USER="1000000/min",
            THROTTLE_ANON="1000000/min",
            SWEEP_INTERVAL_SECONDS=SWEEP_SECONDS,
            SWEEP_GRACE_SECONDS=SWEEP_SECONDS,
            OUTBOX_SWEEP_SECONDS="1",
            OUTBOX_RELAY_AFTER_SECONDS=SWEEP_SECONDS,
            OUTBOX_LEASE_SECONDS="5",
            FEED_FANOUT_BATCH_SIZE=str(self.fanout_batch_size),
            LOG_LEVEL="WARNING",
        )
        self.migrate()
        # The processes boot while the caller creates its accounts (and the OAuth clients: USERS_SCRIPT). Beat keeps
        # its schedule file in this stack's directory, not in the checkout.
        commands = dict(self.commands)
        commands["celery_beat"] += f" --schedule {self.workdir / 'celerybeat-schedule'}"
        (self.workdir / "Procfile").write_text("".join(f"{name}: {command}\n" for name, command in commands.items()))
        supervise = [
            str(Path(sys.executable).parent / "python"),
            "scripts/supervise.py",
            str(self.workdir / "Procfile"),
        ]
        self.supervisor = self.stack.spawn("supervise", supervise, ROOT)
        self.stack.django_url = f"http://127.0.0.1:{self.django_port}"
        self.stack.gateway_url = self.gateway_url
        return self

    def migrate(self) -> None:
        """Migrate, or load the schema a previous run dumped after migrating the same migrations: `migrate` costs
        about 20 s of CPU on two shared cores, a restore one or two."""
        files = sorted(ROOT.glob("api/socialnet/apps/*/migrations/*.py"))
        digest = hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in files)).hexdigest()[:16]
        dump = Path(tempfile.gettempdir()) / f"socialnet-faults-schema-{digest}.sql"
        client = ["-h", "127.0.0.1", "-p", str(self.postgres.port), "-U", "postgres", "-d", "socialnet_faults"]
        if dump.exists():
            psql = [str(self.postgres.bindir / "psql"), *client, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump)]
            subprocess.run(psql, check=True, capture_output=True, timeout=120)
            return
        self.stack.manage("migrate", "--noinput", "-v", "0")
        partial = dump.with_suffix(f".{os.getpid()}.tmp")  # renamed when complete: a concurrent run never reads half
        pg_dump = [str(self.postgres.bindir / "pg_dump"), *client, "--no-owner", "-f", str(partial)]
        subprocess.run(pg_dump, check=True, capture_output=True, timeout=120)
        partial.rename(dump)

    def wait_ready(self) -> None:
        wait_http(f"{self.stack.django_url}/health/", timeout=120)
        wait_http(f"{self.gateway_url}/readyz", timeout=60)

    def pids(self) -> dict[str, int]:
        """The process group of each process as last started by the supervisor."""
        return {name: int(pid) for name, pid in STARTED.findall(self.stack.log_path("supervise").read_text())}

    def starts(self, name: str) -> int:
        return sum(found == name for found, _ in STARTED.findall(self.stack.log_path("supervise").read_text()))

    def kill(self, name: str) -> None:
        """kill -9 of the whole process group: the worker and its pool children, with no chance to requeue. The
        supervisor starts it again a second later."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pids()[name], signal.SIGKILL)

    def alive(self) -> dict[str, bool]:
        def running(pid: int) -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            return True

        return {name: running(pid) for name, pid in self.pids().items()}

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` against this stack's database (test setup: users, tokens, follows)."""
        return self.stack.manage("shell", "-c", code)

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.stack.env["DATABASE_URL"], autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def close(self) -> None:
        # SIGKILL, no graceful stop: everything here is thrown away, and a clean stop costs seconds per process.
        # The supervisor first, so it restarts nothing, then every process group it ever started.
        if self.supervisor is not None:
            self.supervisor.kill()
            self.supervisor.wait(timeout=10)
            for _, pid in STARTED.findall(self.stack.log_path("supervise").read_text()):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(int(pid), signal.SIGKILL)
        self.postgres.close()
        self.redis.close()


USERS_SCRIPT = """
import json
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.utils import timezone
from apps.follows.models import Follow
from apps.users.tests.oauth import issue_access_token
call_command("create_demo_client")
call_command("create_gateway_client")
User = get_user_model()
prefix, count, followers = {prefix!r}, {count}, {followers}
users = [User.objects.create_user(username=f"{{prefix}}{{i}}", email=f"{{prefix}}{{i}}@example.com",
                                  password="plum-tangerine-87") for i in range(count)]
fans = User.objects.bulk_create(
    [User(username=f"{{prefix}}fan{{i}}", email=f"{{prefix}}fan{{i}}@example.com", last_login=timezone.now())
     for i in range(followers)])
Follow.objects.bulk_create([Follow(follower=fan, followee=users[0]) for fan in fans])
print(json.dumps([{{"id": u.id, "username": u.username, "token": issue_access_token(u)}} for u in users]
                 + [{{"fan_ids": [f.id for f in fans]}}]))
"""


@dataclass
class Account:
    id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_accounts(stack: FaultStack, prefix: str, count: int, *, followers: int = 0) -> tuple[list[Account], list[int]]:
    """The OAuth clients, then `count` users with tokens; the first one gets `followers` extra followers (ids
    returned), all active."""
    out = stack.shell(USERS_SCRIPT.format(prefix=prefix, count=count, followers=followers))
    rows = json.loads(out.strip().splitlines()[-1])
    return [Account(**row) for row in rows[:-1]], rows[-1]["fan_ids"]


def jpeg(seed: int, size=(1024, 768)) -> bytes:
    """A JPEG different per seed, large enough that each upload costs the media worker real decoding work."""
    from PIL import Image

    image = Image.effect_noise(size, 40 + seed % 50).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@dataclass
class Call:
    name: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer at all (connection refused or reset, timeout)
    body: dict | list | None = None
    subject: int | None = None  # what the call was about, when its body does not say (the post a like is on)


@dataclass
class ClientLoop:
    """Clients calling the gateway in a loop until stopped; every call is recorded with its time and status.

    `operations` are `(name, call)` pairs, `call(session, base_url)` returning a response or `(response, subject)`;
    each client cycles through them."""

    base_url: str
    operations: list
    threads: int = 2
    calls: list[Call] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> ClientLoop:
        for offset in range(self.threads):
            thread = threading.Thread(target=self._run, args=(offset,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=30)

    def _run(self, offset: int) -> None:
        session = requests.Session()
        step = offset
        while not self._stop.is_set():
            name, operation = self.operations[step % len(self.operations)]
            step += 1
            started = time.monotonic()
            subject = None
            try:
                response = operation(session, self.base_url)
                if isinstance(response, tuple):
                    response, subject = response
            except requests.RequestException:
                response = None
            body = None
            if response is not None and response.headers.get("Content-Type", "").startswith("application/json"):
                with contextlib.suppress(ValueError):
                    body = response.json()
            status = 0 if response is None else response.status_code
            self.calls.append(Call(name, started, time.monotonic(), status, body, subject))
            time.sleep(0.02)  # a client, not a flood: the box is shared

    def count(self) -> int:
        return len(self.calls)
