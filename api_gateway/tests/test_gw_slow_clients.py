"""Slow clients against the gateway as deployed (gunicorn with gunicorn.conf.py, in its own process): clients
that trickle their headers or bodies must not stop it from answering everyone else, and are cut off in the end.
Also what that server itself would make of forwarding headers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from apps.common.testing.celery_worker import wait_until

GATEWAY_DIR = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def gunicorn_gateway(recorder):
    """The gateway started the way the Procfile starts it, in front of the recording upstream."""
    port = _free_port()
    env = {
        **os.environ,
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_UPSTREAM_URL": recorder.url,
        "GATEWAY_RATELIMIT_ENABLED": "false",
        "GATEWAY_ACCESS_LOG": "",
        # Short, so the cut-off of the slowest clients is observable within the test.
        "GATEWAY_CLIENT_TIMEOUT": "2",
        "GATEWAY_CLIENT_MIN_RATE": "50000",
    }
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "wsgi:app", "-c", "gunicorn.conf.py", "--log-level=warning"],
        cwd=GATEWAY_DIR,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(f"{url}/healthz"), timeout=30, message="gunicorn serving the gateway")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class Tricklers:
    """`count` connections each sending `head` and then one more byte every `interval` seconds."""

    def __init__(self, url: str, count: int, head: bytes, drip: bytes, interval: float = 0.5):
        host, port = url.removeprefix("http://").split(":")
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(head)
            self.sockets.append(sock)
        self.drip, self.interval = drip, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.wait(self.interval):
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.send(self.drip)

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


def _healthz_latencies(url: str, rounds: int = 5) -> list[float]:
    latencies = []
    for _ in range(rounds):
        started = time.monotonic()
        try:
            response = requests.get(f"{url}/healthz", timeout=3)
            assert response.status_code == 200
            latencies.append(time.monotonic() - started)
        except requests.Timeout:
            latencies.append(float("inf"))
        time.sleep(0.2)
    return latencies


SLOW_BODY = b"POST /slow-body/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\nx"
SLOW_HEADERS = b"GET /slow-headers/ HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize("count", [40, 200])
@pytest.mark.parametrize(("head", "drip"), [(SLOW_BODY, b"x"), (SLOW_HEADERS, b"X")], ids=["body", "headers"])
def test_healthz_answers_within_a_second_while_clients_trickle(gunicorn_gateway, count, head, drip):
    tricklers = Tricklers(gunicorn_gateway, count, head, drip)
    try:
        time.sleep(1.0)  # every connection accepted and waiting on its client
        latencies = _healthz_latencies(gunicorn_gateway)
    finally:
        tricklers.close()
    print(f"/healthz with {count} slow clients ({head[:4].decode()}): worst {max(latencies) * 1000:.0f} ms")
    assert max(latencies) < 1.0, f"/healthz with {count} slow clients: {latencies}"


def test_a_client_that_stops_sending_its_body_is_answered_408(gunicorn_gateway, recorder):
    host, port = gunicorn_gateway.removeprefix("http://").split(":")
    before = recorder.count("/slow-body/")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(SLOW_BODY)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 5  # GATEWAY_CLIENT_TIMEOUT=2
    # A body under GATEWAY_BUFFER_BODY_BYTES is read in full first: the upstream (a Django thread) never waited.
    assert recorder.count("/slow-body/") == before


def test_a_buffered_body_reaches_the_upstream_whole(gunicorn_gateway, recorder):
    response = requests.post(f"{gunicorn_gateway}/buffered/", data=b"z" * 300_000, timeout=10)
    assert response.status_code == 200
    assert response.json()["body_bytes"] == 300_000
    assert recorder.last("/buffered/")["headers"]["Content-Length"] == "300000"


def test_the_deployed_server_lets_no_client_choose_the_scheme_or_script_name(gunicorn_gateway, recorder):
    """gunicorn's own forwarding policy trusts loopback peers by default; the gateway decides from
    GATEWAY_TRUSTED_PROXIES alone (0 here), so a local client cannot claim https or move SCRIPT_NAME."""
    response = requests.get(
        f"{gunicorn_gateway}/scheme/x/", headers={"X-Forwarded-Proto": "https", "SCRIPT_NAME": "/scheme"}, timeout=5
    )
    assert response.status_code == 200
    seen = recorder.last("/scheme/x/")
    assert seen["target"] == "/scheme/x/"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert seen["headers"].get("Script-Name") is None


def test_a_client_trickling_below_the_minimum_rate_is_cut_off(gunicorn_gateway):
    tricklers = Tricklers(gunicorn_gateway, 1, SLOW_BODY, b"x" * 10, interval=0.2)  # 50 B/s, never silent
    started = time.monotonic()
    try:
        tricklers.sockets[0].settimeout(10)
        answer = tricklers.sockets[0].recv(65536)
    finally:
        tricklers.close()
    # Allowed: 2 s + 100000 B / 50000 B/s = 4 s; then the next read notices.
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 8


def test_trickled_headers_are_dropped_after_the_keepalive_timeout(gunicorn_gateway):
    host, port = gunicorn_gateway.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(SLOW_HEADERS)
        with contextlib.suppress(OSError):
            for _ in range(40):
                sock.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.25)
        sock.settimeout(15)
        with contextlib.suppress(OSError):
            while sock.recv(65536):
                pass
    # gunicorn's async workers give a request's headers `keepalive` (5 s) to arrive, then close the connection.
    assert time.monotonic() - started < 12


def test_slow_client_settings_from_env():
    from app.config import ConfigError, GatewayConfig

    defaults = GatewayConfig.from_env({})
    assert (defaults.client_timeout, defaults.client_min_rate, defaults.buffer_body_bytes) == (10.0, 8192, 1048576)
    config = GatewayConfig.from_env(
        {"GATEWAY_CLIENT_TIMEOUT": "3.5", "GATEWAY_CLIENT_MIN_RATE": "1000", "GATEWAY_BUFFER_BODY_BYTES": "0"}
    )
    assert (config.client_timeout, config.client_min_rate, config.buffer_body_bytes) == (3.5, 1000, 0)
    for bad in ({"GATEWAY_CLIENT_TIMEOUT": "0"}, {"GATEWAY_CLIENT_MIN_RATE": "0"}, {"GATEWAY_BUFFER_BODY_BYTES": "x"}):
        with pytest.raises(ConfigError):
            GatewayConfig.from_env(bad)


def test_the_gateway_reads_the_checkout_env_file_without_overriding_the_environment(tmp_path):
    from app.config import load_env_file

    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nGATEWAY_CLIENT_SECRET=from-file\nexport QUOTED='q v'\nSET_ALREADY=file\n\nnoise\n")
    environ = {"SET_ALREADY": "environment"}
    assert load_env_file(env_file, environ)
    assert environ == {"GATEWAY_CLIENT_SECRET": "from-file", "QUOTED": "q v", "SET_ALREADY": "environment"}
    assert not load_env_file(tmp_path / "missing.env", environ)
