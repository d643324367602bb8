"""docker-compose.yml, the Procfile, the Dockerfiles, settings and .env.example must agree, and every variable
any file reads from the environment must be documented, once, in .env.example and docs/configuration.md.

No Docker engine runs here, so these checks are what stands between a typo and a stack that does not start.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Secrets docker compose takes only from the untracked .env (`make env`) or the environment, never from a tracked file.
COMPOSE_SECRETS = ("DJANGO_SECRET_KEY", "GATEWAY_CLIENT_SECRET", "POSTGRES_PASSWORD")
QUEUES = {"default", "follows", "media"}
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


ENV_ASSIGNMENT = re.compile(r"^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$")


def env_file(name: str) -> dict[str, str]:
    """The variables an env file sets: `NAME=value` lines; comments and blank lines skipped."""
    pairs = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def documented_variables() -> list[str]:
    """Every variable .env.example documents, in order, duplicates kept.

    `NAME=value` is a variable set in the example; `# NAME=value` is an optional one, shown commented out because
    setting it (even empty) differs from leaving it unset. Every other line must be a comment or blank.
    """
    names = []
    for number, line in enumerate((ROOT / ".env.example").read_text().splitlines(), 1):
        match = ENV_ASSIGNMENT.match(line)
        if match:
            names.append(match.group(2))
        else:
            assert not line.strip() or line.startswith("# "), f".env.example:{number}: not NAME=value: {line!r}"
    return names


# --- what reads the environment ---------------------------------------------------------------------------------
# Python: django-environ in settings (`env("X"`, `env.int("X"`), the gateway's helpers (`_int(env, "X"`,
# `env.get("X"`), and plain os.environ / os.getenv.
PYTHON_READS = [
    re.compile(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\""),
    re.compile(r"\(\s*env\s*,\s*\"([A-Z][A-Z0-9_]*)\""),
    re.compile(r"os\.(?:environ\.get|environ\.setdefault|getenv)\(\s*\"([A-Z][A-Z0-9_]*)\""),
    re.compile(r"os\.environ\[\s*\"([A-Z][A-Z0-9_]*)\"\s*\]"),
    re.compile(r"\"([A-Z][A-Z0-9_]*)\"\s+(?:not\s+)?in\s+os\.environ\b"),
]
# Shell (scripts, Procfile, Dockerfiles, compose commands): `${X:-default}` and friends always read X; a plain
# `$X` / `${X}` reads it when the file never assigns X itself. Variables every shell has are not configuration.
SHELL_DEFAULTED = re.compile(r"\$\{([A-Z][A-Z0-9_]*):?[-=?+]")
SHELL_PLAIN = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)\b(?![:]?[-=?+])")
SHELL_ASSIGNED = re.compile(r"(?:^|[\s;(&|])(?:export\s+|local\s+|readonly\s+|ENV\s+|ARG\s+)?([A-Z][A-Z0-9_]*)=")
SHELL_BUILTINS = {"PATH", "HOME", "PWD", "OLDPWD", "USER", "SHELL", "UID", "IFS", "RANDOM", "HOSTNAME", "TERM"}
# make: `NAME ?= value` takes NAME from the environment, and so does a `$(NAME)` the Makefile never defines.
MAKE_DEFINED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(\?|:|\+)?=", re.M)
MAKE_DEFAULTED = re.compile(r"^([A-Z][A-Z0-9_]*)\s*\?=", re.M)
MAKE_REFERENCE = re.compile(r"\$\(([A-Z][A-Z0-9_]*)\)")

PYTHON_FILES = [
    "api/socialnet/config/settings.py",
    "api/socialnet/config/settings_test.py",
    "api/socialnet/config/celery.py",
    "api/socialnet/config/wsgi.py",
    "api/socialnet/manage.py",
    "api_gateway/app/config.py",
    "api_gateway/gunicorn.conf.py",
    "api_gateway/wsgi.py",
    "scripts/ensure_env.py",
    "bench/benchdb.py",
    "bench/feed.py",
    "bench/feed_http.py",
    "bench/gateway.py",
    "bench/load.py",
    "bench/requests.py",
    "bench/search.py",
]
SHELL_FILES = [
    "scripts/*.sh",
    "scripts/postgres/*.sh",
    ".ci/run",
    "Procfile",
    "api/Dockerfile",
    "api_gateway/Dockerfile",
]
# Read by tools rather than by SocialNet's processes, so not in .env.example: each is documented in the file named.
TOOL_VARIABLES = {
    "PYTHON": "docs/testing.md",  # make: the interpreter that creates .venv
    "PYTEST_ARGS": "docs/testing.md",  # make test: options passed to pytest
    "BENCH_REDIS_URL": "docs/benchmarks.md",  # bench/feed.py, feed_http.py, search.py and requests.py: their Redis
    "POSTGRES_DB": "docs/configuration.md",  # docker compose: the postgres_db container (.env.dev)
    "POSTGRES_USER": "docs/configuration.md",
    "POSTGRES_PASSWORD": "docs/configuration.md",  # read by the postgres image, not by a file here
    "RELIABILITY_EXAMPLES": "docs/testing.md",  # tests/reliability/: Schemathesis examples per operation
    "RELIABILITY_FAULTS": "docs/testing.md",  # tests/reliability/test_faults.py: `full` for the long outages
}


def python_reads(text: str) -> set[str]:
    return {name for pattern in PYTHON_READS for name in pattern.findall(text)}


def shell_reads(text: str) -> set[str]:
    assigned = set(SHELL_ASSIGNED.findall(text))
    plain = set(SHELL_PLAIN.findall(text)) - assigned
    return (set(SHELL_DEFAULTED.findall(text)) | plain) - SHELL_BUILTINS


def make_reads(text: str) -> set[str]:
    defined = {match.group(1) for match in MAKE_DEFINED.finditer(text)}
    return set(MAKE_DEFAULTED.findall(text)) | (set(MAKE_REFERENCE.findall(text)) - defined)


def compose_reads(text: str) -> set[str]:
    """Interpolated from the host (`${X}`) or read by a container's shell (`$${X}`)."""
    return set(re.findall(r"\$?\$\{([A-Z][A-Z0-9_]*)", text))


def environment_reads() -> dict[str, set[str]]:
    """Each file that reads the environment → the variables it reads."""
    reads = {path: python_reads((ROOT / path).read_text()) for path in PYTHON_FILES}
    for pattern in SHELL_FILES:
        for path in sorted(ROOT.glob(pattern)):
            reads[str(path.relative_to(ROOT))] = shell_reads(path.read_text())
    reads["Makefile"] = make_reads((ROOT / "Makefile").read_text())
    reads["docker-compose.yml"] = compose_reads((ROOT / "docker-compose.yml").read_text())
    return reads


def variables_read_by_the_code() -> set[str]:
    names = set().union(*environment_reads().values())
    return names - set(TOOL_VARIABLES)


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
    # Only the gateway is published (and the mail catcher's UI), on the host's loopback: nothing reaches Django (or
    # its throttles, or the admin) without passing the gateway's limits.
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published == {"auth_proxy": ["127.0.0.1:5000:5000"], "mailpit": ["127.0.0.1:8025:8025"]}
    assert "expose" not in services["socialnet_backend"] or services["socialnet_backend"]["expose"] == ["8000"]
    for name in ("postgres_db", "redis", "socialnet_backend"):
        assert "healthcheck" in services[name], f"{name} needs a healthcheck for depends_on conditions"
    assert services["migrate"]["depends_on"]["postgres_db"]["condition"] == "service_healthy"
    for name in ("socialnet_backend", "celery_default", "celery_follows", "celery_media", "celery_beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["env_file"] == ".env.dev"
    assert services["auth_proxy"]["depends_on"]["socialnet_backend"]["condition"] == "service_healthy"
    assert {"pgdata", "media"} <= set(compose["volumes"])


def test_third_party_images_are_pinned(compose):
    """`latest` changes under a running deployment; our own images are built here, every other one is pinned."""
    own = {"socialnet-api:latest", "socialnet-gateway:latest"}
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if image and image not in own:
            tag = image.rpartition(":")[2] if ":" in image else ""
            assert tag and tag != "latest", f"{name} uses {image!r}: pin a version tag"


def test_the_scale_profile_adds_a_streaming_replica_the_api_can_read(compose):
    services = compose["services"]
    replica = services["postgres_replica"]
    assert replica["profiles"] == ["scale"]
    assert replica["image"] == services["postgres_db"]["image"], "a physical replica runs the primary's version"
    assert replica["depends_on"]["postgres_db"]["condition"] == "service_healthy"
    assert "ports" not in replica
    mounted = {volume.split(":")[0] for volume in replica["volumes"] + services["postgres_db"]["volumes"]}
    for script in ("./scripts/postgres/replica-entrypoint.sh", "./scripts/postgres/primary-replication.sh"):
        assert script in mounted and (ROOT / script).is_file()
    assert "pg_basebackup" in (ROOT / "scripts/postgres/replica-entrypoint.sh").read_text()
    # Without the profile nothing reads the replica: the variable defaults to empty (no replica, no router).
    for name in ("socialnet_backend", "celery_default", "celery_follows", "celery_media", "celery_beat"):
        assert services[name]["environment"]["DATABASE_REPLICA_URLS"] == "${DATABASE_REPLICA_URLS:-}"
    assert "pgreplica" in compose["volumes"]


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


def test_beat_schedule_file_belongs_to_the_checkout():
    # A fixed /tmp path was shared by every stack on the host (two checkouts' beats fought over one file). Relative
    # to api/socialnet (the Procfile's cwd), gitignored by `celerybeat-schedule*`.
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    schedule = procfile["celery_beat"].split("--schedule", 1)[1].split()[0].lstrip("=")
    assert not schedule.startswith("/"), schedule
    assert schedule.startswith("celerybeat-schedule")


def test_routes_only_name_known_queues():
    from django.conf import settings

    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= QUEUES


def test_commands_named_in_compose_exist(compose):
    from django.core.management import get_commands

    migrate_command = compose["services"]["migrate"]["command"]
    for command in re.findall(r"manage\.py (\w+)", migrate_command):
        assert command in get_commands(), command
    import config.wsgi  # noqa: F401  gunicorn's target must import


def test_env_example_documents_every_variable_once():
    documented = documented_variables()
    twice = sorted({name for name in documented if documented.count(name) > 1})
    assert twice == [], f"documented more than once in .env.example: {twice}"
    read = variables_read_by_the_code()
    assert read - set(documented) == set(), f"add to .env.example: {sorted(read - set(documented))}"
    assert set(documented) - read == set(), f"not read by any code, remove: {sorted(set(documented) - read)}"


def test_the_scan_sees_what_each_file_reads():
    """Spot checks, so a regular expression that silently stops matching cannot pass the drift test."""
    reads = environment_reads()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "AWS_S3_ENDPOINT_URL", "LOG_LEVEL"} <= reads[
        "api/socialnet/config/settings.py"
    ]
    assert {"GATEWAY_UPSTREAM_URL", "GATEWAY_CORS_ORIGINS", "GATEWAY_LIMIT_LOGIN", "REDIS_URL"} <= reads[
        "api_gateway/app/config.py"
    ]
    assert reads["api_gateway/gunicorn.conf.py"] == {
        "GATEWAY_BIND",
        "GATEWAY_WORKERS",
        "GATEWAY_WORKER_CLASS",
        "GATEWAY_WORKER_CONNECTIONS",
        "GATEWAY_THREADS",
        "GATEWAY_WORKER_TIMEOUT",
        "GATEWAY_ACCESS_LOG",
    }
    assert {"DJANGO_PORT", "GATEWAY_PORT", "SEED_DEMO", "REDIS_URL"} <= reads["scripts/run.sh"]
    assert not {"ROOT", "BIN", "GATEWAY_PID", "PWD"} & reads["scripts/run.sh"], "the script's own variables"
    assert reads["Procfile"] == {"DJANGO_BIND", "DJANGO_PORT"}
    assert reads["Makefile"] == {"PYTHON", "PYTEST_ARGS"}
    assert reads["docker-compose.yml"] == {
        "POSTGRES_USER",
        "POSTGRES_DB",
        "DATABASE_REPLICA_URLS",
        *COMPOSE_SECRETS,
        "FEED_REDIS_URL",  # the `scale` profile's Redis Cluster, when .env points the timelines at it
        "FEED_REDIS_CLUSTER",
    }
    assert reads["scripts/postgres/primary-replication.sh"] == {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}
    assert "DJANGO_SETTINGS_MODULE" in reads["api/socialnet/manage.py"]
    assert "BENCH_REDIS_URL" in reads["bench/feed.py"]


def test_every_file_that_reads_the_environment_is_scanned():
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listing.returncode == 0:
        tracked = listing.stdout.splitlines()
    else:  # not a git checkout: every file but the virtualenv, caches and generated files
        skip = (".git/", ".venv/", ".ruff_cache/", ".pytest_cache/", "test-artifacts/", "api/socialnet/static/")
        tracked = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
        tracked = [path for path in tracked if not path.startswith(skip) and "__pycache__" not in path]
    scanned = set(environment_reads())
    for path in tracked:
        if "/tests/" in f"/{path}" or path.startswith(("docs/", "README")) or not (ROOT / path).is_file():
            continue
        text = (ROOT / path).read_text(errors="replace")
        if path.endswith(".py"):
            reads = bool(python_reads(text)) or "os.environ" in text or "environ.Env" in text
        elif path.endswith((".sh", ".yml", ".yaml")) or "." not in Path(path).name:
            reads = bool(shell_reads(text) or make_reads(text) or compose_reads(text))
        else:
            continue
        assert not reads or path in scanned, f"{path} reads the environment: add it to the drift test's scan"


def test_tool_variables_are_documented_where_the_test_says():
    for name, doc in TOOL_VARIABLES.items():
        assert name in (ROOT / doc).read_text(), f"{name} is not documented in {doc}"


def test_configuration_doc_has_a_row_for_every_variable():
    text = (ROOT / "docs/configuration.md").read_text()
    rows = re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", text, flags=re.M)
    twice = sorted({name for name in rows if rows.count(name) > 1})
    assert twice == [], f"docs/configuration.md has more than one row for: {twice}"
    expected = variables_read_by_the_code() | set(TOOL_VARIABLES)
    assert expected - set(rows) == set(), f"docs/configuration.md lacks a row for: {sorted(expected - set(rows))}"
    assert set(rows) - expected == set(), (
        f"docs/configuration.md documents what nothing reads: {sorted(set(rows) - expected)}"
    )


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


def test_env_example_values_are_accepted_by_django_the_gateway_and_gunicorn():
    """Copied as it is, .env.example configures processes that start: every value parses where it is read."""
    from app.config import GatewayConfig

    example = env_file(".env.example")
    GatewayConfig.from_env(example)  # raises ConfigError on a value the gateway cannot run with
    # Except the secrets: their placeholders are refused on purpose (docs/security.md), so stand real ones in.
    env = {"PATH": os.environ["PATH"], **example, "SOCIALNET_ENV_FILE": ""}
    assert "change-me" in env["DJANGO_SECRET_KEY"]
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT / "api/socialnet", env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY" in refused.stderr
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    django = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT / "api/socialnet",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert django.returncode == 0, django.stdout + django.stderr
    gunicorn = subprocess.run(
        [sys.executable, "-c", "import runpy; runpy.run_path('gunicorn.conf.py')"],
        cwd=ROOT / "api_gateway",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gunicorn.returncode == 0, gunicorn.stderr


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


def _gunicorn_settings(path: str) -> dict:
    namespace: dict = {}
    exec(compile((ROOT / path).read_text(), path, "exec"), namespace)
    return namespace


def test_django_server_admits_whatever_the_gateway_forwards():
    """Past its limits gunicorn answers with an HTML page before Django runs: a request the gateway accepted must
    never meet one (issue 16: request lines of 4-8 KB got an HTML 414 from Django's server)."""
    from app.upstream import MAX_UPSTREAM_REQUEST_LINE

    gateway = _gunicorn_settings("api_gateway/gunicorn.conf.py")
    django = _gunicorn_settings("api/socialnet/gunicorn.conf.py")
    assert gateway["limit_request_line"] <= django["limit_request_line"] == MAX_UPSTREAM_REQUEST_LINE
    # The gateway adds up to five headers (X-Forwarded-For/-Proto/-Host, X-Real-IP, X-Request-ID) and folds
    # repeated ones into one line.
    assert django["limit_request_fields"] >= gateway["limit_request_fields"] + 5
    assert django["limit_request_field_size"] >= 2 * gateway["limit_request_field_size"]


def test_every_django_gunicorn_takes_the_one_config_file(compose):
    commands = {
        "Procfile": _procfile()["web"],
        "docker-compose.yml": " ".join(compose["services"]["socialnet_backend"]["command"]),
        "api/Dockerfile": (ROOT / "api/Dockerfile").read_text().rsplit("CMD", 1)[1],
        "tests/e2e/stack.py": (ROOT / "tests/e2e/stack.py").read_text(),
    }
    for where, command in commands.items():
        assert "gunicorn.conf.py" in command, f"{where} starts Django's gunicorn without its config file"
        assert "--worker-class" not in command and "limit-request" not in command, f"{where} overrides it"
