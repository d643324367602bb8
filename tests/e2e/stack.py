"""Start SocialNet as real, separate processes for end-to-end tests: the same commands the Procfile runs.

Full mode: gunicorn (Django), gunicorn (gateway), one Celery worker on all three queues, beat, a private Redis
on a free port and a fresh PostgreSQL database. Embedded mode: SQLite, no Redis, Django's dev server as
`make run` starts it, and the gateway without Redis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
DJANGO_DIR = ROOT / "api" / "socialnet"
GATEWAY_DIR = ROOT / "api_gateway"
BIN = Path(sys.executable).parent
GATEWAY_SECRET = "e2e-gateway-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, *, timeout: float = 60.0, expect: int = 200, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == expect:
                return
            last = response.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s (last: {last})")


@dataclass
class Stack:
    mode: str  # "full" or "embedded"
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    django_url: str = ""
    gateway_url: str = ""
    db_name: str = ""
    database_admin_url: str = ""

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def spawn(self, name: str, args: list[str], cwd: Path, extra_env: dict[str, str] | None = None):
        log = open(self.log_path(name), "wb")  # noqa: SIM115  closed with the process at stop()
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stop() can signal the whole process group (gunicorn workers too)
        )
        self.processes.append((name, process))
        return process

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", *args],
            cwd=DJANGO_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def logs(self) -> str:
        parts = []
        for name, _ in self.processes:
            text = self.log_path(name).read_text(errors="replace")[-4000:]
            parts.append(f"----- {name} -----\n{text}")
        return "\n".join(parts)

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):  # already gone
                    os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def base_env(workdir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {
        **keep,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SOCIALNET_ENV_FILE": "",  # configured here alone, never by a developer's .env in the checkout
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "e2e-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_HSTS_SECONDS": "0",
        "OAUTH_REDIRECT_SCHEMES": "http,https",
        "GATEWAY_CLIENT_SECRET": GATEWAY_SECRET,
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
    }


def start_full(workdir: Path, database_admin_url: str) -> Stack:
    import psycopg

    redis_port, django_port, gateway_port = free_port(), free_port(), free_port()
    db_name = f"socialnet_e2e_{os.getpid()}"
    with psycopg.connect(database_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    stack = Stack("full", workdir, base_env(workdir))
    stack.db_name = db_name
    stack.database_admin_url = database_admin_url
    database_url = database_admin_url.rsplit("/", 1)[0] + f"/{db_name}"
    stack.env.update(DATABASE_URL=database_url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
    stack.spawn(
        "redis",
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        workdir,
    )
    stack.manage("migrate", "--noinput")
    stack.manage("collectstatic", "--noinput", "-v0")
    stack.manage("create_demo_client")
    stack.manage("create_gateway_client")
    django = spawn_django(stack, "django", django_port)
    stack.spawn(
        "worker",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "default,follows,media",
            "--concurrency=2",
            "--loglevel=INFO",
            "-n",
            f"e2e-{os.getpid()}@%h",
        ],
        DJANGO_DIR,
    )
    stack.spawn(
        "beat",
        [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO", f"--schedule={workdir / 'beat-schedule'}"],
        DJANGO_DIR,
    )
    stack.django_url = f"http://127.0.0.1:{django_port}"
    gateway = spawn_gateway(stack, gateway_port)
    wait_http(f"{stack.django_url}/health/", process=django)
    wait_http(f"{stack.gateway_url}/readyz", process=gateway)
    return stack


def spawn_django(stack: Stack, name: str, port: int, workers: int = 2) -> subprocess.Popen:
    """Django under gunicorn with the Procfile's settings (gunicorn.conf.py); `workers` to save memory."""
    return stack.spawn(
        name,
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--config=gunicorn.conf.py",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
        ],
        DJANGO_DIR,
    )


def start_embedded(workdir: Path) -> Stack:
    django_port, gateway_port = free_port(), free_port()
    stack = Stack("embedded", workdir, base_env(workdir))
    stack.env.update(DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}", DJANGO_DEBUG="true")
    stack.env.pop("REDIS_URL", None)
    stack.manage("migrate", "--noinput")
    stack.manage("create_demo_client")
    stack.manage("create_gateway_client")
    django = stack.spawn(
        "django", [str(BIN / "python"), "manage.py", "runserver", "--noreload", f"127.0.0.1:{django_port}"], DJANGO_DIR
    )
    stack.django_url = f"http://127.0.0.1:{django_port}"
    gateway = spawn_gateway(stack, gateway_port)
    wait_http(f"{stack.django_url}/health/", process=django)
    wait_http(f"{stack.gateway_url}/readyz", process=gateway)
    return stack


def spawn_gateway(stack: Stack, port: int) -> subprocess.Popen:
    stack.gateway_url = f"http://127.0.0.1:{port}"
    return stack.spawn(
        "gateway",
        [str(BIN / "gunicorn"), "wsgi:app", "-c", "gunicorn.conf.py"],
        GATEWAY_DIR,
        {
            "GATEWAY_BIND": f"127.0.0.1:{port}",
            "GATEWAY_WORKERS": "2" if stack.mode == "full" else "1",
            "GATEWAY_UPSTREAM_URL": stack.django_url,
            # Short, so the revocation step does not sit out the 30 s default; the behaviour is the same.
            "GATEWAY_INTROSPECTION_CACHE_SECONDS": "5",
        },
    )


def drop_database(stack: Stack) -> None:
    import psycopg

    with psycopg.connect(stack.database_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{stack.db_name}" WITH (FORCE)')
