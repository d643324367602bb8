"""`make run` itself, in both modes, from a plain shell: it writes the checkout's secrets, starts everything on
loopback only, announces itself only once Django answers, serves through the gateway, and Ctrl-C stops it all."""

import contextlib
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from apps.common.testing.celery_worker import wait_until

from .stack import ROOT, free_port, wait_http

pytestmark = pytest.mark.e2e
MANAGE_DIR = ROOT / "api" / "socialnet"
BANNER_END = "Stop with Ctrl-C."
# The key settings.py used to fall back to whenever DJANGO_DEBUG was on, which `make run` turned on.
OLD_FALLBACK_KEY = "insecure-dev-key-change-me"
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


def plain_shell_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_IN_A_PLAIN_SHELL}
    return {**env, **extra}


def non_loopback_address() -> str | None:
    """An address of this machine other than loopback (the one a default route would use), if there is one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=MANAGE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} in a plain shell:\n{result.stdout}\n{result.stderr}"
    return result.stdout


CREATE_PRIVATE_IMAGE = """
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from apps.images.models import Image
from apps.images.signing import sign_media_path
owner = get_user_model().objects.create_user(username="mediaowner", email="m@example.com", password="plum-tangerine-87")
image = Image.objects.create(owner=owner, source_format="jpeg", status="ready", width=1, height=1,
                             blurhash="L00000fQfQfQfQfQfQfQfQfQfQfQ", original_ext="jpg")
key = image.variant_key("small")
default_storage.save(key, ContentFile(b"RIFF\\x00\\x00\\x00\\x00WEBP"))
print(key)
print(sign_media_path(key))
"""


def check_secrets_debug_and_media(gateway: str, django: str, env: dict[str, str], env_file: Path) -> None:
    # The per-checkout secrets file, owner-only, with a real random key.
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line and line[0] != "#")
    assert len(values["DJANGO_SECRET_KEY"]) >= 50 and OLD_FALLBACK_KEY not in values["DJANGO_SECRET_KEY"]
    assert values["GATEWAY_CLIENT_SECRET"] and values["DJANGO_DEBUG"] == "false"

    # The README's admin and premium commands, and any other manage.py command, work in a plain shell: manage.py
    # reads the same .env (no DJANGO_SECRET_KEY or DJANGO_DEBUG to set by hand).
    key, signed = manage(env, "shell", "-c", CREATE_PRIVATE_IMAGE).split()[-2:]
    manage({**env, "DJANGO_SUPERUSER_PASSWORD": "plum-tangerine-87"}, "createsuperuser", "--noinput",
           "--username", "root", "--email", "root@example.com")  # fmt: skip
    manage(env, "grant_premium", "mediaowner", "--days", "30")

    # A URL signed by manage.py (the .env key) opens the file: the server signs with the same key...
    assert requests.get(f"{gateway}{signed}", timeout=10).status_code == 200
    # ...and one forged with the key that used to be written in settings.py, never expiring, does not.
    from django.utils.crypto import salted_hmac

    expires = 999999999960
    forged = salted_hmac("apps.images.media-url", f"{key}\n{expires}", secret=OLD_FALLBACK_KEY, algorithm="sha256")
    for base in (gateway, django):
        response = requests.get(f"{base}/media/{key}?exp={expires}&sig={forged.hexdigest()}", timeout=10)
        assert response.status_code == 403, response.text[:200]

    # Debug off still serves the browser pages: Swagger UI and its static files (whitenoise, collected by run.sh).
    docs = requests.get(f"{gateway}/api/docs/", timeout=10)
    assert docs.status_code == 200
    bundle = re.search(r'src="([^"]*swagger-ui-bundle[^"]*\.js)"', docs.text).group(1)
    assert requests.get(f"{gateway}{bundle}", timeout=10).status_code == 200

    # No debug pages: an unknown path is the API's JSON 404, not Django's technical page.
    missing = requests.get(f"{django}/no/such/page/", timeout=10)
    assert missing.status_code == 404
    assert "DEBUG = True" not in missing.text and "Traceback" not in missing.text


def check_loopback_only(ports: tuple[int, ...]) -> None:
    address = non_loopback_address()
    if address is None:
        return  # no other interface on this machine: nothing else could reach the ports anyway
    for port in ports:
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, port)) != 0, f"port {port} answers on {address}, not only on loopback"


def run_and_interrupt(env: dict[str, str], workdir: Path, while_running=None) -> str:
    """`make run` until its banner, the checks every mode passes, `while_running(gateway, env, log)` if given,
    then Ctrl-C; returns the output."""
    django_port, gateway_port = free_port(), free_port()
    env_file = workdir / "checkout.env"
    env = plain_shell_env(
        {
            **env,
            "DJANGO_PORT": str(django_port),
            "GATEWAY_PORT": str(gateway_port),
            "STATIC_ROOT": str(workdir / "static"),
            "MEDIA_ROOT": str(workdir / "media"),
            "SEED_DEMO": "false",
            # The checkout's .env, kept in the test's directory so the test leaves the real checkout alone.
            "SOCIALNET_ENV_FILE": str(env_file),
        }
    )
    gateway, django = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{django_port}"
    log = workdir / "make-run.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            # The banner is the signal a person waits for: once it is printed, Django must already answer.
            deadline = time.monotonic() + 120
            while BANNER_END not in log.read_text(errors="replace"):
                assert process.poll() is None, "make run exited:\n" + log.read_text(errors="replace")
                assert time.monotonic() < deadline, "no banner after 120 s:\n" + log.read_text(errors="replace")
                time.sleep(0.05)
            assert requests.get(f"{django}/health/", timeout=5).status_code == 200
            assert requests.get(f"{gateway}/readyz", timeout=5).status_code == 200
            wait_http(f"{gateway}/readyz", timeout=5, process=process)
            health = requests.get(f"{gateway}/health/", timeout=5)
            assert health.status_code == 200 and health.json()["database"] == "ok"
            signup = requests.post(
                f"{gateway}/users/create/",
                json={"username": "newcomer", "email": "newcomer@example.com", "password": "plum-tangerine-87"},
                timeout=10,
            )
            assert signup.status_code == 201, signup.text
            check_secrets_debug_and_media(gateway, django, env, env_file)
            check_loopback_only((django_port, gateway_port))
            if while_running:
                while_running(gateway, env, log)
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
    # The announcement comes after everything the servers print while starting, once.
    assert text.count(BANNER_END) == 1
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
            kill_a_worker_and_see_it_work_again,
        )
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    assert "Full mode" in output
    for process_name in ("web", "gateway", "celery_default", "celery_follows", "celery_media", "celery_beat"):
        assert re.search(rf"^\S+ {process_name} +\| started \(pid \d+\)$", output, re.M), process_name
    # Ctrl-C stopped every process, cleanly (SIGTERM), none had to be killed.
    assert "stopping every process" in output and "SIGKILL" not in output


ISSUE_TOKEN = """
from django.contrib.auth import get_user_model
from apps.users.tests.oauth import issue_access_token
print(issue_access_token(get_user_model().objects.get(username="newcomer")))
"""


def kill_a_worker_and_see_it_work_again(gateway: str, env: dict[str, str], log: Path) -> None:
    """kill -9 of the media worker's main process: the supervisor starts it again, the rest keeps serving, and the
    new worker processes an upload."""
    from tests.reliability.faultstack import jpeg

    def starts() -> list[str]:
        return re.findall(r"^\S+ celery_media +\| started \(pid (\d+)\)$", log.read_text(errors="replace"), re.M)

    (group,) = starts()
    # The oldest process of the group running celery: the worker itself (bash may sit above it, its pool below).
    worker = int(subprocess.run(["pgrep", "-o", "-g", group, "-f", "celery"], capture_output=True, text=True).stdout)
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: len(starts()) == 2, timeout=60, message="the media worker to be started again")
    assert re.search(r"celery_media +\| (killed by signal 9|exited with status 137); restarting", log.read_text())
    assert requests.get(f"{gateway}/readyz", timeout=5).status_code == 200  # nothing else stopped

    headers = {"Authorization": f"Bearer {manage(env, 'shell', '-c', ISSUE_TOKEN).split()[-1]}"}
    upload = requests.post(f"{gateway}/images/", headers=headers, files={"file": ("a.jpg", jpeg(1), "image/jpeg")})
    assert upload.status_code == 201, upload.text
    image = f"{gateway}/images/{upload.json()['id']}/"
    wait_until(
        lambda: requests.get(image, headers=headers, timeout=10).json()["status"] == "ready",
        timeout=120,
        interval=0.5,
        message="the restarted media worker to process an upload",
    )


def test_ensure_env_completes_an_existing_file_and_keeps_its_values(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_SECRET_KEY=mine-0123456789\nEXTRA=1")
    subprocess.run([sys.executable, str(ROOT / "scripts/ensure_env.py"), str(env_file)], check=True)
    text = env_file.read_text()
    assert "DJANGO_SECRET_KEY=mine-0123456789\nEXTRA=1\n" in text
    assert text.count("DJANGO_SECRET_KEY=") == 1 and "GATEWAY_CLIENT_SECRET=" in text
    before = text
    subprocess.run([sys.executable, str(ROOT / "scripts/ensure_env.py"), str(env_file)], check=True)
    assert env_file.read_text() == before  # idempotent: make run on every start changes nothing
    with contextlib.suppress(FileNotFoundError):
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
