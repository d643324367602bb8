"""`mailbox`: a real SMTP server (aiosmtpd) inside the test process. The project sends to it through Django's SMTP
backend, exactly as it would to Mailpit or a provider, and tests read what arrived the way a user reads an email."""

import email
import re
import socket
import threading
import time
from email import policy
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.attempts = 0  # DATA commands received, refused ones included
        self.refusing = False  # answer 451 (try again later), as a server in trouble does
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.refusing:
            return "451 4.3.0 Temporary failure, try again later"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no email for {address} after {timeout}s (got {[m['To'] for m in self.messages]})")
                self._arrived.wait(left)
        return self.to(address)


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message: EmailMessage, path: str) -> str:
    match = re.search(rf"https?://\S+{re.escape(path)}\S*", text_of(message))
    assert match, f"no link to {path} in:\n{text_of(message)}"
    return match.group(0)


def token_in(message: EmailMessage, path: str) -> str:
    """The `token` of the link to `path`, as a user clicking it would send it."""
    return parse_qs(urlsplit(link_in(message, path)).query)["token"][0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox(settings):
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.fixture
def mail_server_down(settings):
    """Django's SMTP backend pointed at a port where nothing listens: connection refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
