"""Shared by the account lifecycle tests: sign-up and requests that run what their commit triggers (each test runs
inside a transaction that never commits), and a clock that has moved on for token expiry."""

import time

import pytest

STRONG = "plum-tangerine-87-orbit"
STRONGER = "velvet-quarry-51-lantern"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(fn, *args, **kwargs): call fn, then run the on-commit callbacks it registered (emails)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def signup(api_client, committed):
    def post(username="alice", email="alice@example.com", password=STRONG):
        body = {"username": username, "email": email, "password": password}
        return committed(api_client.post, "/users/create/", body, format="json")

    return post


class LaterClock:
    """`time` as seen `seconds` from now (django.core.signing and the token generator read the clock)."""

    def __init__(self, seconds: float):
        self.offset = seconds

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)
