"""How much does the gateway cost? The same authenticated GET sent straight to Django and through the gateway.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/socialnet REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/gateway.py [--clients 1 8] [--requests 2000] [--duration 20]

Starts Django (gunicorn, gthread, as in the Procfile) and the gateway (gunicorn, gthread) on free loopback ports,
creates a user and an access token, then for each concurrency level alternates rounds direct / through the gateway
(bounded by --requests per round and --duration seconds per round) and prints requests/s, the ratio, and latency
percentiles with the gateway's added latency at p50 and p99. Pass --django-url/--gateway-url/--token to measure
servers that are already running instead. Everything stops by itself; only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
DJANGO_DIR = ROOT / "api" / "socialnet"
GATEWAY_DIR = ROOT / "api_gateway"
PATH = "/users/me/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up within {timeout:.0f}s")


class Stack:
    """Django and the gateway as gunicorn subprocesses (each its own process group, stopped on exit)."""

    def __init__(self, workers: int, threads: int):
        self.processes: list[subprocess.Popen] = []
        self.secret = secrets.token_urlsafe(24)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            # Both paths must measure the same Django work, not Django's own throttles tripping.
            "THROTTLE_ANON": "1000000/min",
            "THROTTLE_USER": "1000000/min",
            "GATEWAY_CLIENT_SECRET": self.secret,
            "GATEWAY_LIMIT_TOKEN": "10000000 per 5 minutes",
            "GATEWAY_LIMIT_ANON": "10000000 per 5 minutes",
            "GATEWAY_ACCESS_LOG": "",
            "PYTHONUNBUFFERED": "1",
        }
        if "DATABASE_URL" not in os.environ:
            raise SystemExit("Set DATABASE_URL (PostgreSQL) for the benchmark; REDIS_URL too for the full mode.")
        self.workers, self.threads = workers, threads

    def manage(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", *args],
            cwd=DJANGO_DIR,
            env=self.env,
            check=True,
            capture_output=capture,
            text=True,
        )
        return result.stdout if capture else ""

    def spawn(self, cmd: list[str], cwd: Path, env: dict) -> None:
        self.processes.append(
            subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
        )

    def start(self) -> tuple[str, str, str]:
        print("preparing the database (migrate, OAuth clients, a bench user and token)...", flush=True)
        self.manage("migrate", "--noinput", "-v0")
        self.manage("create_demo_client")
        self.manage("create_gateway_client")
        token = (
            self.manage(
                "shell",
                "-c",
                "from apps.users.tests.factories import UserFactory;"
                "from apps.users.tests.oauth import issue_access_token;"
                f"print(issue_access_token(UserFactory(username='bench-{secrets.token_hex(4)}'), expires_in=3600))",
                capture=True,
            )
            .strip()
            .splitlines()[-1]
        )
        django_port, gateway_port = free_port(), free_port()
        gunicorn = str(BIN / "gunicorn")
        self.spawn(
            [gunicorn, "config.wsgi:application", f"--bind=127.0.0.1:{django_port}", "--worker-class=gthread",
             f"--workers={self.workers}", f"--threads={self.threads}", "--log-level=warning"],
            DJANGO_DIR,
            self.env,
        )  # fmt: skip
        django_url = f"http://127.0.0.1:{django_port}"
        gateway_env = {
            **self.env,
            "GATEWAY_UPSTREAM_URL": django_url,
            "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
            "GATEWAY_WORKERS": str(self.workers),
            "GATEWAY_THREADS": str(self.threads),
        }
        self.spawn([gunicorn, "wsgi:app", "-c", "gunicorn.conf.py", "--log-level=warning"], GATEWAY_DIR, gateway_env)
        self.gateway_pgid = self.processes[-1].pid
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        wait_ready(f"{django_url}/health/")
        wait_ready(f"{gateway_url}/healthz")
        return django_url, gateway_url, token

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def group_cpu_seconds(pgid: int | None) -> float:
    """User + system CPU of every process in a process group (Linux /proc), to cost the gateway per request."""
    if pgid is None:
        return 0.0
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_round(url: str, token: str, clients: int, max_requests: int, max_seconds: float) -> tuple[list[float], float]:
    """`clients` threads with a keep-alive session each; stops at max_requests in total or max_seconds."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    budget = iter(range(max_requests))
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        mine: list[float] = []
        while time.monotonic() < deadline:
            with lock:
                if next(budget, None) is None:
                    break
            started = time.perf_counter()
            response = session.get(url + PATH, headers=headers, timeout=10)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                errors.append(response.status_code)
            mine.append(elapsed)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{url}: {len(errors)} non-200 answers, e.g. {errors[:5]}")
    return latencies, wall


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="concurrency levels")
    parser.add_argument("--requests", type=int, default=2000, help="requests per round (each target, each level)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per round at most")
    parser.add_argument("--rounds", type=int, default=2, help="alternating direct/gateway rounds per level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--django-url")
    parser.add_argument("--gateway-url")
    parser.add_argument("--token")
    args = parser.parse_args()

    stack = None
    if args.django_url and args.gateway_url and args.token:
        django_url, gateway_url, token = args.django_url.rstrip("/"), args.gateway_url.rstrip("/"), args.token
    else:
        stack = Stack(args.workers, args.threads)
    try:
        if stack:
            django_url, gateway_url, token = stack.start()
        for url in (django_url, gateway_url):  # warm pools, caches and the introspection cache
            run_round(url, token, 4, 200, 10)
        print(f"GET {PATH} with a bearer token; Django {django_url}, gateway {gateway_url}")
        print(f"{args.rounds} alternating rounds of <= {args.requests} requests / {args.duration:.0f}s per target")
        header = f"{'clients':>7} {'target':>8} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}"
        print(header)
        for clients in args.clients:
            results: dict[str, tuple[list[float], float]] = {"direct": ([], 0.0), "gateway": ([], 0.0)}
            gateway_cpu = 0.0
            pgid = stack.gateway_pgid if stack else None
            for _ in range(args.rounds):
                for name, url in (("direct", django_url), ("gateway", gateway_url)):
                    cpu_before = group_cpu_seconds(pgid)
                    latencies, wall = run_round(url, token, clients, args.requests, args.duration)
                    if name == "gateway":
                        gateway_cpu += group_cpu_seconds(pgid) - cpu_before
                    results[name] = (results[name][0] + latencies, results[name][1] + wall)
            summary = {}
            for name, (latencies, wall) in results.items():
                rps = len(latencies) / wall
                p50, p90, p99 = (percentile(latencies, q) * 1000 for q in (50, 90, 99))
                summary[name] = (rps, p50, p99)
                print(f"{clients:>7} {name:>8} {len(latencies):>8} {rps:>8.0f} {p50:>7.2f} {p90:>7.2f} {p99:>7.2f}")
            ratio = summary["gateway"][0] / summary["direct"][0]
            print(
                f"{clients:>7} {'gateway':>8} throughput ratio {ratio:.2f}, added latency "
                f"p50 {summary['gateway'][1] - summary['direct'][1]:+.2f} ms, "
                f"p99 {summary['gateway'][2] - summary['direct'][2]:+.2f} ms"
            )
            if pgid:
                per_request = gateway_cpu / len(results["gateway"][0]) * 1000
                print(f"{clients:>7} {'gateway':>8} CPU of the gateway processes: {per_request:.2f} ms per request")
    finally:
        if stack:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
