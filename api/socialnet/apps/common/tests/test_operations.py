import os
import subprocess
import sys
from pathlib import Path

import pytest

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


@pytest.mark.django_db
def test_health_reports_every_dependency(api_client):
    response = api_client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "outbox": {"waiting": 0, "overdue": 0, "dead": 0},
    }


@pytest.mark.django_db
def test_health_counts_the_outbox_rows_waiting(api_client):
    from datetime import timedelta

    from django.utils import timezone

    from apps.common.models import OutboxEvent

    now = timezone.now()
    OutboxEvent.objects.create(task="a.task", relay_after=now + timedelta(seconds=10))  # just written
    OutboxEvent.objects.create(task="a.task", relay_after=now - timedelta(minutes=5))  # swept, still not handled
    OutboxEvent.objects.create(task="a.task", relay_after=None)  # given up on
    assert api_client.get("/health/").json()["outbox"] == {"waiting": 3, "overdue": 1, "dead": 1}


@pytest.mark.django_db
def test_health_reports_broker_down_without_failing(api_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = api_client.get("/health/")
    assert response.status_code == 200
    assert response.json()["broker"] == "down"


@pytest.mark.django_db
def test_openapi_schema_and_swagger_ui(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/users/create/", "/users/me/", "/users/{username}/", "/health/"):
        assert path in paths
    flows = schema.json()["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["authorizationUrl"] == "/o/authorize/"
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"usePkceWithAuthorizationCodeGrant" in docs.content
    assert b"socialnet-demo" in docs.content


@pytest.mark.parametrize("page_size", ["0", "101", "1000000000", "-1", "abc", ""])
@pytest.mark.django_db
def test_bad_page_size_is_400(page_size, rf):
    from rest_framework.exceptions import ValidationError
    from rest_framework.request import Request

    from apps.common.pagination import IdCursorPagination

    request = Request(rf.get("/", {"page_size": page_size}))
    with pytest.raises(ValidationError):
        IdCursorPagination().get_page_size(request)


def test_deploy_check_is_clean_with_production_settings():
    """`manage.py check --deploy` has nothing to say with production-like variables."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SOCIALNET_ENV_FILE": "",  # not the checkout's .env (local-HTTP settings): production-like variables only
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x7#kP2!vQ9zL4mN8@rT1wY6$uE3sA5dF0gH2jK7lZ9xC4vB8nM1qW3eR6tY0uI5o",
        "DJANGO_ALLOWED_HOSTS": "api.example.com",
        "DATABASE_URL": "postgres://socialnet:secret@db.example.com:5432/socialnet",
        "REDIS_URL": "redis://cache.example.com:6379/0",
    }
    result = subprocess.run(
        [sys.executable, str(MANAGE), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=MANAGE.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("debug", ["false", "true"])
@pytest.mark.parametrize("key", [None, "insecure-dev-key-change-me", "change-me-to-a-long-random-string"])
def test_settings_refuse_to_start_without_a_real_secret_key(debug, key):
    """No fallback key, not even with DJANGO_DEBUG=true, and no placeholder copied from a tracked file."""
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": debug}
    env["SOCIALNET_ENV_FILE"] = ""  # not the checkout's .env, which holds a real key
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    result = subprocess.run(
        [sys.executable, str(MANAGE), "check"], cwd=MANAGE.parent, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
