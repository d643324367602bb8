"""Start SocialNet as real, separate processes for end-to-end tests.

Full mode: `make run` itself from a plain shell (scripts/run.sh: the Procfile's processes under
scripts/supervise.py) against a private Redis on a free port and a fresh PostgreSQL database; test_make_run.py
checks that stack and the other end-to-end tests then use it, so it starts once per session. Embedded mode:
SQLite, no Redis, Django's dev server with debug on (the debug pages must answer JSON too), and the gateway
without Redis; `make run`'s own embedded mode, debug off, is started by test_make_run.py.
"""

from __future__ import annotations

import contextlib
import os
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

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", *args],
            cwd=DJANGO_DIR,
            env={**self.env, **(extra_env or {})},
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


# What a developer's shell does not have: the test process's own configuration (settings_test sets some of these).
NOT_IN_A_PLAIN_SHELL = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SECURE_COOKIES",
    "DJANGO_HSTS_SECONDS",
    "GATEWAY_CLIENT_SECRET",
    "OAUTH_REDIRECT_SCHEMES",
    "SOCIALNET_ENV_FILE",
)
BANNER_END = "Stop with Ctrl-C."


def plain_shell_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_IN_A_PLAIN_SHELL}
    return {**env, **extra}


def start_make_run(workdir: Path, env: dict[str, str]) -> Stack:
    """`make run` from a plain shell with `env` on top (REDIS_URL set: full mode), on free ports, with this checkout's
    .env and its files in `workdir`. Returns once the banner is printed, having checked that Django and the gateway
    already answer then: the banner is the signal a person waits for. Stop it with `interrupt_make_run`."""
    django_port, gateway_port = free_port(), free_port()
    extra = {
        **env,
        "DJANGO_PORT": str(django_port),
        "GATEWAY_PORT": str(gateway_port),
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "SEED_DEMO": "false",
        # The checkout's .env, kept in the test's directory so the test leaves the real checkout alone.
        "SOCIALNET_ENV_FILE": str(workdir / "checkout.env"),
    }
    stack = Stack("full" if env.get("REDIS_URL") else "embedded", workdir, plain_shell_env(extra))
    stack.django_url, stack.gateway_url = f"http://127.0.0.1:{django_port}", f"http://127.0.0.1:{gateway_port}"
    process = stack.spawn("make-run", ["make", "run"], ROOT)
    log = stack.log_path("make-run")
    try:
        deadline = time.monotonic() + 120
        while BANNER_END not in log.read_text(errors="replace"):
            assert process.poll() is None, "make run exited:\n" + log.read_text(errors="replace")
            assert time.monotonic() < deadline, "no banner after 120 s:\n" + log.read_text(errors="replace")
            time.sleep(0.05)
        assert requests.get(f"{stack.django_url}/health/", timeout=5).status_code == 200
        assert requests.get(f"{stack.gateway_url}/readyz", timeout=5).status_code == 200
    except BaseException:
        stack.stop()
        raise
    return stack


def interrupt_make_run(stack: Stack) -> str:
    """Ctrl-C in a terminal (SIGINT to the whole foreground process group): `make run` must stop within 30 s, leave
    nothing listening on its ports, and have printed its banner once. Returns its output."""
    ((_, process),) = stack.processes
    log = stack.log_path("make-run")
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("make run did not stop within 30 s of Ctrl-C:\n" + log.read_text(errors="replace"))
    text = log.read_text(errors="replace")
    time.sleep(0.5)
    for url in (stack.django_url, stack.gateway_url):
        try:
            requests.get(f"{url}/", timeout=2)
        except requests.ConnectionError:
            continue
        raise AssertionError(f"{url} still answers after Ctrl-C")
    # The announcement comes after everything the servers print while starting, once.
    assert text.count(BANNER_END) == 1
    return text


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


def fresh_database(admin_url: str, name: str) -> str:
    """An empty PostgreSQL database `name` on the server of `admin_url` (dropped first if a crashed run left it)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
