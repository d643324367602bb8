"""Servers for the gateway tests, each started once per session: the gateway over real HTTP in front of
pytest-django's live Django server, and a recording peer where a test must see exactly what reached the upstream
(or prove that nothing did)."""

from __future__ import annotations

import os

import pytest
from gw_servers import Recorder, ServerThread, gateway_config

from app import create_app


@pytest.fixture(scope="session")
def start_gateway():
    """start_gateway(**config overrides) -> ServerThread; stopped at the end of the session."""
    servers: list[ServerThread] = []

    def start(**overrides) -> ServerThread:
        server = ServerThread(create_app(gateway_config(**overrides)))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def recorder():
    peer = Recorder()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def django_gateway(live_server, start_gateway) -> ServerThread:
    """The gateway as deployed: every path forwarded to the real Django server."""
    return start_gateway(upstream_url=live_server.url)


@pytest.fixture(scope="session")
def recorded_gateway(live_server, recorder, start_gateway) -> ServerThread:
    """Forwards to the recorder but introspects tokens at the real Django: what reaches the upstream is visible."""
    return start_gateway(
        upstream_url=recorder.url,
        introspection_url=f"{live_server.url}/o/introspect/",
        max_body_bytes=4 * 1024 * 1024,
        read_timeout=0.5,
        cors_origins=("https://app.example",),
    )


@pytest.fixture
def oauth_clients(transactional_db):
    """The demo public client and the gateway's confidential client, committed so the live server sees them."""
    from apps.users.oauth_clients import demo_client_ensure, gateway_client_ensure

    demo_client_ensure()
    gateway_client_ensure(secret=os.environ.get("GATEWAY_CLIENT_SECRET", "test-gateway-secret"))


@pytest.fixture
def token_for(oauth_clients):
    """token_for(user) -> a real, stored access token of the demo client."""
    from apps.users.tests.oauth import issue_access_token

    return issue_access_token
