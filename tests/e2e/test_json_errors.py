"""Errors are JSON in DRF's shape in both modes (full: gunicorn for Django and the gateway, debug off; embedded:
Django's dev server with debug on), including the answers the servers give before any application code runs:
gunicorn's refusals of malformed or too long request lines and headers, and Django's debug 404 page."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest

STACKS = ["full_stack", "embedded_stack"]


def raw_exchange(url: str, request_bytes: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library would send a malformed request) and read the one answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request_bytes)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        body = answer.read()
    return answer.status, {name.lower(): value for name, value in answer.getheaders()}, body


def get(url: str, target: str, *extra_headers: str) -> tuple[int, dict[str, str], bytes]:
    host = urlsplit(url).netloc
    head = "\r\n".join([f"GET {target} HTTP/1.1", f"Host: {host}", "Connection: close", *extra_headers])
    return raw_exchange(url, head.encode("latin-1") + b"\r\n\r\n")


def assert_drf_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> None:
    assert status == expected, body[:300]
    assert headers["content-type"].startswith("application/json"), (headers, body[:300])
    payload = json.loads(body)
    assert list(payload) == ["detail"] and payload["detail"], payload


@pytest.mark.parametrize("stack_name", STACKS)
def test_gateway_and_django_refusals_are_json(request, stack_name):
    url = request.getfixturevalue(stack_name).gateway_url
    # Django's 404 (the debug page in the embedded stack) passes through the gateway as JSON.
    assert_drf_error(*get(url, "/no-such-page/"), 404)
    # Stopped by the gateway's own server before any application code: JSON too.
    assert_drf_error(*get(url, "/posts/?q=" + "a" * 9000), 414)
    assert_drf_error(*get(url, "/posts/", "Header Without Colon"), 400)
    assert_drf_error(*raw_exchange(url, b"NOT AN HTTP REQUEST LINE AT ALL\r\n\r\n"), 400)
    # Accepted by the gateway's server, but re-encoded ("|" -> "%7C") past Django's limit: refused by the gateway.
    assert_drf_error(*get(url, "/posts/?q=" + "|" * 3000), 414)


@pytest.mark.parametrize("stack_name", STACKS)
def test_a_request_line_the_gateway_accepts_django_accepts(request, stack_name):
    """Django's server used to stop lines above 4 KB (gunicorn's default) with an HTML 414, below the gateway's."""
    stack = request.getfixturevalue(stack_name)
    target = "/posts/?q=" + "a" * 8000
    for url in (stack.gateway_url, stack.django_url):
        status, _, body = get(url, target)
        assert status == 200, body[:300]
        assert "results" in json.loads(body)
