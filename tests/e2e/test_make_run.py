"""`make run` itself, in both modes: it starts everything, serves through the gateway, and Ctrl-C stops it all."""

import os
import signal
import subprocess
import time

import pytest
import requests

from .stack import ROOT, free_port, wait_http

pytestmark = pytest.mark.e2e


def run_and_interrupt(env: dict[str, str], workdir) -> str:
    django_port, gateway_port = free_port(), free_port()
    env = {
        **os.environ,
        **env,
        "DJANGO_PORT": str(django_port),
        "GATEWAY_PORT": str(gateway_port),
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "SEED_DEMO": "false",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = workdir / "make-run.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_http(f"http://127.0.0.1:{gateway_port}/readyz", timeout=90, process=process)
            health = requests.get(f"http://127.0.0.1:{gateway_port}/health/", timeout=5)
            assert health.status_code == 200 and health.json()["database"] == "ok"
            signup = requests.post(
                f"http://127.0.0.1:{gateway_port}/users/create/",
                json={"username": "newcomer", "email": "newcomer@example.com", "password": "plum-tangerine-87"},
                timeout=10,
            )
            assert signup.status_code == 201, signup.text
        finally:
            # Ctrl-C in a terminal: SIGINT to the whole foreground process group.
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                pytest.fail("make run did not stop within 30 s of Ctrl-C:\n" + log.read_text(errors="replace"))
    text = log.read_text(errors="replace")
    time.sleep(0.5)
    for port in (django_port, gateway_port):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    return text


def test_make_run_embedded(tmp_path):
    output = run_and_interrupt({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": ""}, tmp_path)
    assert "Embedded mode" in output
    assert "Demo OAuth client:  socialnet-demo" in output
    assert "/api/docs/" in output


def test_make_run_full_mode_starts_the_procfile(tmp_path):
    import psycopg

    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    admin_url = os.environ.get("E2E_DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db_name = f"socialnet_makerun_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    try:
        output = run_and_interrupt(
            {
                "DATABASE_URL": admin_url.rsplit("/", 1)[0] + f"/{db_name}",
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            },
            tmp_path,
        )
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    assert "Full mode" in output
    for process_name in ("web", "gateway", "celery_default", "celery_follows", "celery_media", "celery_beat"):
        assert f"{process_name}.1 started" in output, process_name
