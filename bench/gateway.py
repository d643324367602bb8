"""How much does the gateway cost? The same authenticated GET sent straight to Django, through a bare proxy and
through the gateway, side by side in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/socialnet REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/gateway.py [--clients 1 8] [--requests 2000] [--duration 20]

Starts Django (gunicorn, its own gunicorn.conf.py as the Procfile does), the gateway (gunicorn.conf.py as deployed,
every feature on: introspection, rate limits on Redis, request ids, streaming; access log off) and a bare
pass-through proxy (`bare_proxy_app` below: Flask and one pooled requests.Session, gunicorn gthread 2 x 4, nothing
else) on free loopback ports, creates a user and an access token, then for each concurrency level alternates rounds
direct / bare proxy / gateway (bounded by --requests per round and --duration seconds per round) and prints
requests/s, throughput ratios, latency percentiles, the CPU per request of each target's processes, of Django behind
it, of the PostgreSQL backends serving this database and of the benchmark's own client threads, and the added
latency at p50 and p99 of both proxies, with the load average of the machine next to the figures. From the CPU
figures it also prints the throughput / direct the gateway could reach once the cores are saturated (all of them
shared by client, gateway, Django and PostgreSQL, as here): direct's CPU per request over the gateway rounds' CPU
per request, every process counted (Redis is not: its server is shared). The last line is
`gateway_added_p50_ratio=<worst over the levels> throughput_ratio_8=<gateway / direct at 8 clients>`.
Everything stops by itself; only loopback addresses are used.
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
from urllib.parse import urlsplit

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


HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})


def bare_proxy_app(upstream: str):
    """The yardstick: the naive proxy anyone would write first. Flask, one pooled requests.Session, the request
    forwarded and the answer streamed back; no token checks, limits, request ids or logging. Served by gunicorn
    (gthread 2 x 4) from this file: `gunicorn --chdir bench 'gateway:bare_proxy_app("http://...")'`."""
    from flask import Flask, Response, request
    from requests.adapters import HTTPAdapter

    app = Flask(__name__)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=8))

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    def forward(path: str):
        headers = {name: value for name, value in request.headers if name.lower() not in HOP_BY_HOP}
        answer = session.request(
            request.method,
            upstream + request.full_path.rstrip("?"),
            headers=headers,
            data=request.get_data() or None,
            stream=True,
            allow_redirects=False,
            timeout=30,
        )
        response_headers = [(k, v) for k, v in answer.raw.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(answer.raw.stream(65536, decode_content=False), status=answer.status_code,
                        headers=response_headers)  # fmt: skip

    return app


class Stack:
    """Django, the gateway and the bare proxy as gunicorn subprocesses (each its own process group, stopped on exit)."""

    def __init__(self):
        self.processes: list[subprocess.Popen] = []
        self.secret = secrets.token_urlsafe(24)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SOCIALNET_ENV_FILE": "",  # configured here alone, never by a developer's .env
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            # Every path must measure the same Django work, not Django's own throttles tripping.
            "THROTTLE_ANON": "1000000/min",
            "THROTTLE_USER": "1000000/min",
            "GATEWAY_CLIENT_SECRET": self.secret,
            "GATEWAY_LIMIT_TOKEN": "10000000 per 5 minutes",
            "GATEWAY_LIMIT_ANON": "10000000 per 5 minutes",
            "GATEWAY_ACCESS_LOG": "",
            "PYTHONUNBUFFERED": "1",
        }
        if "DATABASE_URL" not in os.environ or "REDIS_URL" not in os.environ:
            raise SystemExit(
                "Set DATABASE_URL (PostgreSQL) and REDIS_URL: the gateway is measured with every feature on."
            )
        self.pgids: dict[str, int] = {}

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

    def spawn(self, name: str, cmd: list[str], cwd: Path, env: dict) -> None:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
        self.processes.append(process)
        self.pgids[name] = process.pid

    def start(self) -> tuple[dict[str, str], str]:
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
        ports = {name: free_port() for name in ("direct", "bare proxy", "gateway")}
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        gunicorn = str(BIN / "gunicorn")
        self.spawn(
            "direct",
            [
                gunicorn,
                "config.wsgi:application",
                "-c",
                "gunicorn.conf.py",
                f"--bind=127.0.0.1:{ports['direct']}",
                "--log-level=warning",
            ],
            DJANGO_DIR,
            self.env,
        )
        self.spawn(
            "bare proxy",
            [gunicorn, "--chdir", str(ROOT / "bench"), f"gateway:bare_proxy_app({urls['direct']!r})",
             f"--bind=127.0.0.1:{ports['bare proxy']}", "--worker-class=gthread", "--workers=2", "--threads=4",
             "--log-level=warning"],
            ROOT,
            self.env,
        )  # fmt: skip
        gateway_env = {
            **self.env,
            "GATEWAY_UPSTREAM_URL": urls["direct"],
            "GATEWAY_BIND": f"127.0.0.1:{ports['gateway']}",
        }
        self.spawn("gateway", [gunicorn, "wsgi:app", "-c", "gunicorn.conf.py", "--log-level=warning"], GATEWAY_DIR,
                   gateway_env)  # fmt: skip
        wait_ready(f"{urls['direct']}/health/")
        wait_ready(f"{urls['bare proxy']}/health/")
        wait_ready(f"{urls['gateway']}/healthz")
        return urls, token

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every process in a process group (Linux /proc), to cost a proxy per request."""
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


def database_cpu_seconds(database: str) -> float:
    """User + system CPU of the PostgreSQL backends connected to `database` (their process title names it)."""
    total = 0
    title = f" {database} ".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if title not in Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0", 1)[0]:
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
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


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def load_average() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="concurrency levels")
    parser.add_argument("--requests", type=int, default=2000, help="requests per round (each target, each level)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round at most")
    parser.add_argument("--rounds", type=int, default=3, help="alternating direct/bare/gateway rounds per level")
    args = parser.parse_args()

    stack = Stack()
    database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    targets = ("direct", "bare proxy", "gateway")
    added_ratios: list[float] = []
    throughput_8 = None
    try:
        urls, token = stack.start()
        for url in urls.values():  # warm pools, caches and the introspection cache
            run_round(url, token, 4, 200, 10)
        print(f"GET {PATH} with a bearer token; " + ", ".join(f"{name} {url}" for name, url in urls.items()))
        print(f"{args.rounds} alternating rounds of <= {args.requests} requests / {args.duration:.0f}s per target")
        # CPU ms per request, in each target's rounds: the target's own processes (for direct: Django), Django
        # behind it, the PostgreSQL backends of this database, and this process (the clients).
        print(f"{'clients':>7} {'target':>10} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}"
              f" {'CPU ms/req':>10} {'Django':>7} {'Postgres':>8} {'client':>7}")  # fmt: skip
        for clients in args.clients:
            results: dict[str, tuple[list[float], float]] = {name: ([], 0.0) for name in targets}
            cpu = {name: dict.fromkeys(("own", "django", "postgres", "client"), 0.0) for name in targets}
            for _ in range(args.rounds):
                for name in targets:
                    before = (group_cpu_seconds(stack.pgids[name]), group_cpu_seconds(stack.pgids["direct"]),
                              database_cpu_seconds(database), time.process_time())  # fmt: skip
                    latencies, wall = run_round(urls[name], token, clients, args.requests, args.duration)
                    after = (group_cpu_seconds(stack.pgids[name]), group_cpu_seconds(stack.pgids["direct"]),
                             database_cpu_seconds(database), time.process_time())  # fmt: skip
                    for key, start, end in zip(cpu[name], before, after, strict=True):
                        cpu[name][key] += end - start
                    results[name] = (results[name][0] + latencies, results[name][1] + wall)
            summary = {}
            per_request = {}
            for name, (latencies, wall) in results.items():
                rps = len(latencies) / wall
                p50, p90, p99 = (percentile(latencies, q) * 1000 for q in (50, 90, 99))
                summary[name] = (rps, p50, p99)
                per_request[name] = costs = {key: seconds / len(latencies) * 1000 for key, seconds in cpu[name].items()}
                print(f"{clients:>7} {name:>10} {len(latencies):>8} {rps:>7.0f} {p50:>7.2f} {p90:>7.2f} {p99:>7.2f}"
                      f" {costs['own']:>10.2f} {costs['django']:>7.2f} {costs['postgres']:>8.2f}"
                      f" {costs['client']:>7.2f}")  # fmt: skip
            direct_rps, direct_p50, direct_p99 = summary["direct"]
            added = {}
            for name in ("bare proxy", "gateway"):
                rps, p50, p99 = summary[name]
                added[name] = p50 - direct_p50
                print(f"{clients:>7} {name:>10} throughput / direct {rps / direct_rps:.2f}, added latency p50 "
                      f"{p50 - direct_p50:+.2f} ms, p99 {p99 - direct_p99:+.2f} ms ({load_average()})")  # fmt: skip
            # Under other load the added latency of one proxy can come out at or below zero; a ratio is then noise.
            ratio = added["gateway"] / added["bare proxy"] if added["bare proxy"] > 0 else None
            if ratio is not None:
                added_ratios.append(ratio)
            if clients == 8:
                throughput_8 = summary["gateway"][0] / direct_rps
            # Direct counts Django once (it is the target); through the gateway, gateway + Django + the rest.
            direct_cost = sum(value for key, value in per_request["direct"].items() if key != "own")
            gateway_cost = sum(per_request["gateway"].values())
            print(f"{clients:>7} CPU per request: direct {direct_cost:.2f} ms, via the gateway {gateway_cost:.2f} ms;"
                  f" throughput / direct once the cores are saturated <= {direct_cost / gateway_cost:.2f}")  # fmt: skip
            shown = f"{ratio:.2f}" if ratio is not None else "n/a (the bare proxy added nothing measurable)"
            print(f"{clients:>7} gateway added p50 / bare proxy added p50 = {shown} ({load_average()})")
    finally:
        stack.stop()
    worst = f"{max(added_ratios):.2f}" if added_ratios else "n/a"
    throughput = f"{throughput_8:.2f}" if throughput_8 is not None else "n/a"
    print(f"gateway_added_p50_ratio={worst} throughput_ratio_8={throughput} ({load_average()})")


if __name__ == "__main__":
    sys.exit(main())
