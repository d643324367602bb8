import os

import pytest

from .stack import drop_database, start_embedded, start_full


@pytest.fixture(scope="session")
def full_stack(tmp_path_factory):
    admin_url = os.environ.get("E2E_DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    workdir = tmp_path_factory.mktemp("e2e-full")
    stack = start_full(workdir, admin_url)
    try:
        yield stack
    finally:
        stack.stop()
        drop_database(stack)


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory):
    stack = start_embedded(tmp_path_factory.mktemp("e2e-embedded"))
    try:
        yield stack
    finally:
        stack.stop()
