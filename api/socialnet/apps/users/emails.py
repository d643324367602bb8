"""Rendering and sending account emails: a text body and an HTML alternative per template, through whatever backend
EMAIL_URL configured. Only tasks call `email_send` (on `default`, after commit): a slow or dead mail server delays
an email, it never slows or fails the request that caused it.
"""

import smtplib
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

# What a mail server being down or refusing looks like from smtplib: these are retried, anything else is a bug.
MAIL_SERVER_ERRORS = (smtplib.SMTPException, OSError)


def public_url(path: str, **query: str) -> str:
    """An absolute link for an email: emails are read outside any request, so the host comes from settings."""
    return f"{settings.PUBLIC_BASE_URL}{path}" + (f"?{urlencode(query)}" if query else "")


def email_send(*, to: str, template: str, context: dict) -> None:
    """Send `users/email/<template>{_subject.txt,.txt,.html}` to one address."""
    context = {"site_name": "SocialNet", "public_base_url": settings.PUBLIC_BASE_URL, **context}
    # A subject is one line whatever the template's whitespace (a newline there would be a header injection).
    subject = " ".join(render_to_string(f"users/email/{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(subject, render_to_string(f"users/email/{template}.txt", context), to=[to])
    message.attach_alternative(render_to_string(f"users/email/{template}.html", context), "text/html")
    message.send()
