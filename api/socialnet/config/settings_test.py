"""Settings for the test suite: the real settings, pointed at the local PostgreSQL and Redis, with fast hashing."""

import os

# Tests never read a checkout's .env (a developer's `make run` writes one): they are configured here alone.
os.environ.setdefault("SOCIALNET_ENV_FILE", "")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socialnet")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("GATEWAY_CLIENT_SECRET", "test-gateway-secret")
os.environ.setdefault("OAUTH_REDIRECT_SCHEMES", "http,https")  # the live-server tests run on http://127.0.0.1

from .settings import *  # noqa: F403
from .settings import REST_FRAMEWORK, STORAGES

# Tests create hundreds of users; PBKDF2 at production cost would dominate the run.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run tasks in-process; tests about queues start a real worker and switch this off for themselves.
CELERY_TASK_ALWAYS_EAGER = True
# Throttling has its own tests with explicit rates; everywhere else it must not make results depend on order.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min", "signup": "100000/min"},
}
# The account lifecycle's scopes too (their throttling tests set low rates for themselves).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] |= dict.fromkeys(
    ("password_reset", "password_reset_address", "password_change", "email_verification_resend"), "100000/min"
)
# No collectstatic before tests: serve static files from the apps, not from a hashed manifest.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Every prepared list query is compiled the ordinary way too and compared with its cached SQL (apps.common.prepared).
PREPARED_QUERIES_CHECK = True
