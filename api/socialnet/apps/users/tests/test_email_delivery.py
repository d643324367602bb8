"""Account emails through a real SMTP server: rendered text + HTML, sent after commit by a task on `default`,
retried while the mail server is down, and never failing the request that caused them."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from apps.common.testing.celery_worker import wait_until
from apps.users.models import User

from .lifecycle_support import STRONG
from .mailbox import html_of, link_in, text_of


@pytest.mark.django_db
def test_signup_email_arrives_as_text_and_html_with_a_public_link(signup, mailbox, settings):
    settings.PUBLIC_BASE_URL = "https://social.example"
    settings.DEFAULT_FROM_EMAIL = "SocialNet <hello@social.example>"
    assert signup().status_code == 201
    (message,) = mailbox.wait_for("alice@example.com")
    assert message["From"] == "SocialNet <hello@social.example>"
    assert "Confirm your email address" in message["Subject"]
    link = link_in(message, "/accounts/verify-email/")
    assert link.startswith("https://social.example/accounts/verify-email/?token=")
    assert "%" not in link  # URL-safe: the token copied out of the link is the token
    assert link in text_of(message)
    assert link.replace("&", "&amp;") in html_of(message)


@pytest.mark.django_db
def test_email_is_sent_only_after_the_commit(api_client, mailbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = {"username": "alice", "email": "alice@example.com", "password": STRONG}
        assert api_client.post("/users/create/", body, format="json").status_code == 201
    assert mailbox.messages == []  # nothing leaves before the sign-up is committed
    for callback in callbacks:
        callback()
    mailbox.wait_for("alice@example.com")


@pytest.mark.django_db
def test_rolled_back_signup_sends_nothing(signup, mailbox):
    User.objects.create(username="taken", email="bob@example.com")
    assert signup(username="bob", email="BOB@example.com").status_code == 400
    assert mailbox.messages == [] and mailbox.attempts == 0


@pytest.mark.django_db
def test_mail_server_down_does_not_fail_signup_in_the_embedded_mode(signup, mail_server_down):
    # Eager tasks (no worker to retry later): the error is logged, the sign-up succeeds.
    assert signup().status_code == 201
    assert User.objects.filter(username="alice").exists()


def test_mail_server_outage_delays_the_email_until_a_retry(celery_worker, signup, mailbox):
    mailbox.refusing = True
    response = signup()
    assert response.status_code == 201  # the request never waits for, nor fails on, the mail server
    wait_until(lambda: mailbox.attempts >= 1, message="a first delivery attempt")
    assert mailbox.messages == []
    mailbox.refusing = False
    # The retry policy's first backoff is at most 5 s (with jitter).
    (message,) = mailbox.wait_for("alice@example.com", timeout=20)
    assert mailbox.attempts >= 2
    assert "/accounts/verify-email/?token=" in text_of(message)


def test_emails_go_to_the_default_queue():
    from apps.users import tasks

    for task in (
        tasks.email_verification_send_task,
        tasks.email_change_notice_task,
        tasks.password_changed_notice_task,
        tasks.password_reset_send_task,
    ):
        route = settings.CELERY_TASK_ROUTES.get(task.name) or settings.CELERY_TASK_ROUTES["*"]
        assert route["queue"] == "default"


def settings_with(**environ) -> dict:
    """Settings as a fresh process reads them from this environment."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({k: getattr(s, k)"
        " for k in ('EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD',"
        " 'EMAIL_USE_TLS', 'DEFAULT_FROM_EMAIL', 'PUBLIC_BASE_URL')}))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EMAIL_", "PUBLIC_BASE_URL"))}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_SECRET_KEY": "k" * 50, **environ}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_email_url_configures_smtp_and_its_absence_the_console():
    smtp = settings_with(
        EMAIL_URL="smtp+tls://mailer:s3cret@mail.example:587",
        DEFAULT_FROM_EMAIL="Social <hi@social.example>",
        PUBLIC_BASE_URL="https://social.example/",
    )
    assert smtp == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "s3cret",
        "EMAIL_USE_TLS": True,
        "DEFAULT_FROM_EMAIL": "Social <hi@social.example>",
        "PUBLIC_BASE_URL": "https://social.example",
    }
    for unset in ({}, {"EMAIL_URL": ""}):
        embedded = settings_with(**unset)
        assert embedded["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
        assert embedded["PUBLIC_BASE_URL"] == "http://localhost:5000"
