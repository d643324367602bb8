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
from pathlib import Path

import pytest
import requests

from apps.common.testing.celery_worker import wait_until

from .stack import ROOT, Stack, interrupt_make_run, start_make_run, wait_http

pytestmark = pytest.mark.e2e
# The key settings.py used to fall back to whenever DJANGO_DEBUG was on, which `make run` turned on.
OLD_FALLBACK_KEY = "insecure-dev-key-change-me"


def non_loopback_address() -> str | None:
    """An address of this machine other than loopback (the one a default route would use), if there is one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


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


def check_secrets_debug_and_media(stack: Stack) -> None:
    gateway, django, env_file = stack.gateway_url, stack.django_url, Path(stack.env["SOCIALNET_ENV_FILE"])
    # The per-checkout secrets file, owner-only, with a real random key.
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line and line[0] != "#")
    assert len(values["DJANGO_SECRET_KEY"]) >= 50 and OLD_FALLBACK_KEY not in values["DJANGO_SECRET_KEY"]
    assert values["GATEWAY_CLIENT_SECRET"] and values["DJANGO_DEBUG"] == "false"

    # The README's admin and premium commands, and any other manage.py command, work in a plain shell: manage.py
    # reads the same .env (no DJANGO_SECRET_KEY or DJANGO_DEBUG to set by hand).
    key, signed = stack.manage("shell", "-c", CREATE_PRIVATE_IMAGE).split()[-2:]
    password = {"DJANGO_SUPERUSER_PASSWORD": "plum-tangerine-87"}
    stack.manage(
        "createsuperuser", "--noinput", "--username", "root", "--email", "root@example.com", extra_env=password
    )
    stack.manage("grant_premium", "mediaowner", "--days", "30")

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


def check_serving(stack: Stack) -> None:
    """What every mode of a started `make run` does: health through the gateway, a sign-up, the secrets, debug off,
    signed media, loopback only."""
    wait_http(f"{stack.gateway_url}/readyz", timeout=5)
    health = requests.get(f"{stack.gateway_url}/health/", timeout=5)
    assert health.status_code == 200 and health.json()["database"] == "ok"
    signup = requests.post(
        f"{stack.gateway_url}/users/create/",
        json={"username": "newcomer", "email": "newcomer@example.com", "password": "plum-tangerine-87"},
        timeout=10,
    )
    assert signup.status_code == 201, signup.text
    check_secrets_debug_and_media(stack)
    check_loopback_only(tuple(int(url.rsplit(":", 1)[1]) for url in (stack.django_url, stack.gateway_url)))


def test_make_run_embedded(tmp_path):
    stack = start_make_run(tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": ""})
    try:
        check_serving(stack)
    except BaseException:
        stack.stop()
        raise
    output = interrupt_make_run(stack)
    assert "Embedded mode" in output
    assert "Demo OAuth client:  socialnet-demo" in output
    assert "/api/docs/" in output


def test_make_run_full_mode_starts_the_procfile(full_stack):
    """`make run` in full mode is the session's `full_stack` (tests/e2e/conftest.py), checked here while it serves;
    its Ctrl-C is checked when the session ends, after the other tests used it."""
    output = full_stack.log_path("make-run").read_text(errors="replace")
    assert "Full mode" in output
    for process_name in ("web", "gateway", "celery_default", "celery_follows", "celery_media", "celery_beat"):
        assert re.search(rf"^\S+ {process_name} +\| started \(pid \d+\)$", output, re.M), process_name
    check_serving(full_stack)
    kill_a_worker_and_see_it_work_again(full_stack)


ISSUE_TOKEN = """
from django.contrib.auth import get_user_model
from apps.users.tests.oauth import issue_access_token
print(issue_access_token(get_user_model().objects.get(username="newcomer")))
"""


def kill_a_worker_and_see_it_work_again(stack: Stack) -> None:
    """kill -9 of the media worker's main process: the supervisor starts it again, the rest keeps serving, and the
    new worker processes an upload."""
    from tests.reliability.faultstack import jpeg

    gateway, log = stack.gateway_url, stack.log_path("make-run")

    def starts() -> list[str]:
        return re.findall(r"^\S+ celery_media +\| started \(pid (\d+)\)$", log.read_text(errors="replace"), re.M)

    (group,) = starts()
    # The oldest process of the group running celery: the worker itself (bash may sit above it, its pool below).
    worker = int(subprocess.run(["pgrep", "-o", "-g", group, "-f", "celery"], capture_output=True, text=True).stdout)
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: len(starts()) == 2, timeout=60, message="the media worker to be started again")
    assert re.search(r"celery_media +\| (killed by signal 9|exited with status 137); restarting", log.read_text())
    assert requests.get(f"{gateway}/readyz", timeout=5).status_code == 200  # nothing else stopped

    headers = {"Authorization": f"Bearer {stack.manage('shell', '-c', ISSUE_TOKEN).split()[-1]}"}
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
