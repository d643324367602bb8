import os

import pytest

from apps.common.testing.servers import RedisServer

from .stack import ROOT, drop_database, fresh_database, interrupt_make_run, start_embedded, start_make_run


@pytest.fixture(scope="session")
def full_stack(tmp_path_factory):
    """The full mode as `make run` starts it (the Procfile under scripts/supervise.py), on a private Redis and a fresh
    PostgreSQL database. test_make_run.py checks it while it serves; the walkthrough, README and error tests use it
    too, so it starts once per session. At the end Ctrl-C must stop every process cleanly: a failure there shows as
    an error in the teardown of the last test that used the stack."""
    admin_url = os.environ.get("E2E_DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db_name = f"socialnet_e2e_{os.getpid()}"
    # The Procfile's beat keeps its schedule in the checkout. One left by an earlier `make run` makes every periodic
    # task due at once, so the trending tags would be cached (15 min) before the tests post any: start as a fresh
    # checkout does, with the first refresh a full interval (5 min) away.
    for stale in (ROOT / "api" / "socialnet").glob("celerybeat-schedule*"):
        stale.unlink()
    redis = RedisServer().start()
    try:
        env = {
            "DATABASE_URL": fresh_database(admin_url, db_name),
            "REDIS_URL": redis.url,
            # Short, so the walkthrough's revocation step does not sit out the 30 s default; the behaviour is the same.
            "GATEWAY_INTROSPECTION_CACHE_SECONDS": "5",
            # Every test using this stack signs up from 127.0.0.1: together more than the 5 per 30 minutes one
            # address may (the limit itself is tested in api_gateway/tests/test_gw_limits.py).
            "GATEWAY_LIMIT_SIGNUP": "50 per 30 minutes",
        }
        stack = start_make_run(tmp_path_factory.mktemp("e2e-full"), env)
        try:
            yield stack
            output = interrupt_make_run(stack)
            # Ctrl-C stopped every process, cleanly (SIGTERM), none had to be killed.
            assert "stopping every process" in output and "SIGKILL" not in output
        finally:
            stack.stop()  # only does something when the Ctrl-C above was not reached or did not stop everything
    finally:
        redis.close()
        drop_database(admin_url, db_name)


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory):
    stack = start_embedded(tmp_path_factory.mktemp("e2e-embedded"))
    try:
        yield stack
    finally:
        stack.stop()
