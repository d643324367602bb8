"""docker-compose.yml, the Procfile, the Dockerfiles, settings and .env.example must agree.

No Docker engine runs here, so these checks are what stands between a typo and a stack that does not start.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
QUEUES = {"default", "follows", "media"}
# Secrets docker compose takes only from the untracked .env (`make env`) or the environment, never from a tracked file.
COMPOSE_SECRETS = ("DJANGO_SECRET_KEY", "GATEWAY_CLIENT_SECRET", "POSTGRES_PASSWORD")
EXPECTED_SERVICES = {
    "socialnet_backend",
    "auth_proxy",
    "postgres_db",
    "redis",
    "celery_default",
    "celery_follows",
    "celery_media",
    "celery_beat",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_file(name: str) -> dict[str, str]:
    pairs = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def variables_read_by_the_code() -> set[str]:
    settings = (ROOT / "api/socialnet/config/settings.py").read_text()
    names = set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", settings))
    gateway = (ROOT / "api_gateway/app/config.py").read_text()
    names |= set(re.findall(r"\"((?:GATEWAY_|REDIS_URL)[A-Z0-9_]*)\"", gateway))
    return names


def test_compose_file_is_valid_for_a_compose_implementation(tmp_path):
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: .ci/run installs it")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    # An empty --env-file: not the checkout's .env; the secrets come from the environment here, as they may.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    command = [tool, "--env-file", str(empty), "-f", "docker-compose.yml", "config", "-q"]
    plain = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS}
    secrets = dict.fromkeys(COMPOSE_SECRETS, "compose-validation-only")
    result = subprocess.run(command, cwd=ROOT, env={**plain, **secrets}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    refused = subprocess.run(command, cwd=ROOT, env=plain, capture_output=True, text=True)
    assert refused.returncode != 0, "compose must refuse to start without the secrets"
    assert "make env" in refused.stderr


def test_compose_has_every_service_with_healthchecks_and_ordering(compose):
    services = compose["services"]
    assert set(services) >= EXPECTED_SERVICES
    # Only the gateway is published, on the host's loopback: nothing reaches Django (or its throttles, or the
    # admin) without passing the gateway's limits.
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published == {"auth_proxy": ["127.0.0.1:5000:5000"]}
    assert "expose" not in services["socialnet_backend"] or services["socialnet_backend"]["expose"] == ["8000"]
    for name in ("postgres_db", "redis", "socialnet_backend"):
        assert "healthcheck" in services[name], f"{name} needs a healthcheck for depends_on conditions"
    assert services["migrate"]["depends_on"]["postgres_db"]["condition"] == "service_healthy"
    for name in ("socialnet_backend", "celery_default", "celery_follows", "celery_media", "celery_beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["env_file"] == ".env.dev"
    assert services["auth_proxy"]["depends_on"]["socialnet_backend"]["condition"] == "service_healthy"
    assert {"pgdata", "media"} <= set(compose["volumes"])


def test_migrations_run_once_and_never_makemigrations(compose):
    commands = {name: str(service.get("command", "")) for name, service in compose["services"].items()}
    assert not any("makemigrations" in command for command in commands.values())
    assert [name for name, command in commands.items() if "migrate --noinput" in command] == ["migrate"]
    assert "gunicorn" in commands["socialnet_backend"] and "runserver" not in commands["socialnet_backend"]


def worker_queues(command: str) -> set[str]:
    match = re.search(r"-Q[ =,']+([\w,]+)", command)
    return set(match.group(1).split(",")) if match else set()


def test_each_queue_has_a_worker_in_compose_and_procfile(compose):
    from config.celery import app

    configured = {queue.name for queue in app.conf.task_queues}
    assert configured == QUEUES
    compose_queues = set()
    for name in ("celery_default", "celery_follows", "celery_media"):
        command = " ".join(compose["services"][name]["command"])
        assert "-A config worker" in command
        compose_queues |= worker_queues(command)
    assert compose_queues == QUEUES
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert {"web", "gateway", "celery_default", "celery_follows", "celery_media", "celery_beat"} <= set(procfile)
    assert set().union(*(worker_queues(cmd) for cmd in procfile.values())) == QUEUES
    assert "--prefetch-multiplier 1" in procfile["celery_media"]
    assert "--prefetch-multiplier=1" in " ".join(compose["services"]["celery_media"]["command"])


def test_routes_only_name_known_queues():
    from django.conf import settings

    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= QUEUES


def test_commands_named_in_compose_exist(compose):
    from django.core.management import get_commands

    migrate_command = compose["services"]["migrate"]["command"]
    for command in re.findall(r"manage\.py (\w+)", migrate_command):
        assert command in get_commands(), command
    import config.wsgi  # noqa: F401  gunicorn's target must import


def test_env_example_documents_every_variable():
    documented = set(env_file(".env.example"))
    read = variables_read_by_the_code()
    assert read - documented == set(), f"add to .env.example: {sorted(read - documented)}"
    assert documented - read == set(), f"not read by any code, remove: {sorted(documented - read)}"


def test_env_dev_only_sets_known_variables_and_matches_compose_hosts(compose):
    dev = env_file(".env.dev")
    known = variables_read_by_the_code() | {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
    assert set(dev) - known == set()
    database_url = compose["services"]["socialnet_backend"]["environment"]["DATABASE_URL"]
    assert "@postgres_db:5432/" in database_url
    assert dev["REDIS_URL"].startswith("redis://redis:6379")
    assert dev["GATEWAY_UPSTREAM_URL"] == "http://socialnet_backend:8000"
    assert dev["DJANGO_DEBUG"] == "false"


@pytest.mark.parametrize("dockerfile", ["api/Dockerfile", "api_gateway/Dockerfile"])
def test_dockerfiles_are_slim_pinned_and_non_root(dockerfile):
    text = (ROOT / dockerfile).read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert all(stage.startswith("python:3.11-slim") for stage in stages)
    final = stages[-1]
    assert re.search(r"^USER (?!root)\w+", final, flags=re.M), "the final image runs as a non-root user"
    assert "build-essential" not in final and "gcc" not in final, "no compilers in the final image"
    requirements = (ROOT / dockerfile).parent / "requirements.txt"
    for line in requirements.read_text().splitlines():
        if line.strip() and not line.startswith(("#", "-r")):
            assert "==" in line, f"{requirements}: unpinned {line!r}"


def test_no_secret_in_a_tracked_file_reaches_a_process(compose):
    dev = env_file(".env.dev")
    for name in dev:
        assert not re.search(r"SECRET|PASSWORD|_KEY$", name), f".env.dev must not set {name}: it is committed"
    assert "DATABASE_URL" not in dev  # it carries the database password
    for name in ("socialnet_backend", "migrate", "celery_default", "celery_beat", "auth_proxy", "postgres_db"):
        environment = compose["services"][name]["environment"]
        for secret in set(COMPOSE_SECRETS) & set(environment):
            # ${NAME:?message}: compose refuses to start rather than run with an empty or committed value.
            assert environment[secret] == f"${{{secret}:?run make env (random secrets into .env) or set it}}"
    assert "POSTGRES_PASSWORD:?" in compose["services"]["postgres_db"]["environment"]["POSTGRES_PASSWORD"]
    assert "${POSTGRES_PASSWORD:?" in compose["services"]["socialnet_backend"]["environment"]["DATABASE_URL"]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for path in tracked.split():
        if path.startswith("tests/") or "/tests/" in path:
            continue  # tests name the old keys to prove they are refused
        if path.endswith((".py", ".sh", ".yml", ".yaml", ".toml", ".cfg", "Procfile", "Makefile", "Dockerfile")) or (
            Path(path).name.startswith(".env")
        ):
            text = (ROOT / path).read_text(errors="replace")
            for leaked in ('insecure-dev-key-change-me"', "dev-only-secret-key", "dev-gateway-secret"):
                assert leaked not in text, f"{path} still carries the committed key {leaked!r}"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def _procfile() -> dict[str, str]:
    return dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())


def test_servers_bind_to_loopback_unless_configured_otherwise():
    procfile = _procfile()
    assert "--bind ${DJANGO_BIND:-127.0.0.1:${DJANGO_PORT:-8000}}" in procfile["web"]
    for path in ("Procfile", "scripts/run.sh", "api_gateway/gunicorn.conf.py"):
        code = [line for line in (ROOT / path).read_text().splitlines() if not line.lstrip().startswith("#")]
        assert "0.0.0.0" not in "\n".join(code), f"{path} binds to every interface"
    run_sh = (ROOT / "scripts/run.sh").read_text()
    assert 'GATEWAY_BIND="${GATEWAY_BIND:-127.0.0.1:$GATEWAY_PORT}"' in run_sh
    assert 'DJANGO_BIND="${DJANGO_BIND:-127.0.0.1:$DJANGO_PORT}"' in run_sh
    code = [line for line in run_sh.splitlines() if not line.lstrip().startswith("#")]
    assert not any("DJANGO_DEBUG" in line for line in code), "make run must leave debug pages off (opt-in only)"


def test_gateway_gunicorn_config_defaults():
    namespace: dict = {}
    plain = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(plain)
        exec((ROOT / "api_gateway/gunicorn.conf.py").read_text(), namespace)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert namespace["bind"] == "127.0.0.1:5000"
    # A worker model where a slow client holds a greenlet, not one of a few threads (tests/.../slow_clients).
    assert namespace["worker_class"] == "gevent"
    assert namespace["keepalive"] <= 10, "headers must arrive within keepalive seconds"
