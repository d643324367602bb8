"""What reaches the upstream and what comes back, seen from a recording upstream (and a slow and a dead one)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from urllib.parse import unquote_to_bytes, urlsplit

import pytest
import requests
from gw_servers import RawPeer, Recorder

from apps.common.testing.celery_worker import wait_until
from apps.users.tests.factories import UserFactory

MIB = 1024 * 1024


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _connection(server) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def test_query_string_forwarded_exactly(recorded_gateway, recorder):
    target = "/echo/?a=1&a=2&b=%20x&c=&a=3&d=%2F&e=caf%C3%A9&f=a+b"
    response = requests.get(recorded_gateway.url + target)
    assert response.status_code == 200
    assert recorder.last("/echo/")["target"] == target


def test_target_that_outgrows_djangos_request_line_limit_is_a_json_414(recorded_gateway, recorder):
    """Re-encoding ("|" -> "%7C") can make a line the gateway's server accepted longer than Django's server accepts
    (which would answer an HTML 414): the gateway refuses it itself, and a line just within the limit passes."""
    before = recorder.count("/long/")
    connection = _connection(recorded_gateway)
    connection.request("GET", "/long/?q=" + "|" * 3000)
    response = connection.getresponse()
    assert response.status == 414
    assert response.getheader("Content-Type") == "application/json"
    assert "too long" in json.loads(response.read())["detail"]
    connection.close()
    assert recorder.count("/long/") == before
    fits = "/long/?q=" + "a" * (8190 - len("GET /long/?q= HTTP/1.1"))
    assert requests.get(recorded_gateway.url + fits).status_code == 200
    assert recorder.last("/long/")["target"] == fits


def test_path_escapes_forwarded_exactly(recorded_gateway, recorder):
    target = "/users/a%2Fb/x%20y/"
    requests.get(recorded_gateway.url + target)
    assert recorder.last("/users/a%2Fb/x%20y/")["target"] == target


def test_absolute_form_target_cannot_choose_the_upstream_host(recorded_gateway, recorder):
    before = recorder.count()
    conn = _connection(recorded_gateway)
    conn.putrequest("GET", "http://evil.example/steal/?x=1", skip_host=True)
    conn.putheader("Host", "evil.example")
    conn.endheaders()
    assert conn.getresponse().status == 200
    assert recorder.count() == before + 1
    assert recorder.last("/steal/")["target"] == "/steal/?x=1"


def test_forwarded_headers_ignore_spoofed_values(recorded_gateway, recorder):
    requests.get(
        f"{recorded_gateway.url}/whoami/",
        headers={"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6", "X-Forwarded-Host": "evil.example",
                 "X-Forwarded-Proto": "https", "Forwarded": "for=6.6.6.6"},
    )  # fmt: skip
    seen = recorder.last("/whoami/")["headers"]
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Real-IP"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert seen["X-Forwarded-Host"] == urlsplit(recorded_gateway.url).netloc
    assert seen["Host"] == urlsplit(recorded_gateway.url).netloc  # the client's Host, for Django's absolute URLs
    assert seen.get("Forwarded") is None


def test_trusted_proxy_entries_are_kept_and_the_rest_dropped(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url, trusted_proxies=1)
    requests.get(
        f"{gateway.url}/behind-proxy/",
        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9", "X-Forwarded-Proto": "https"},
    )
    seen = recorder.last("/behind-proxy/")["headers"]
    # 6.6.6.6 was written by the client itself; only the last entry comes from the one proxy we trust.
    assert seen["X-Forwarded-For"] == "203.0.113.9"
    assert seen["X-Real-IP"] == "203.0.113.9"
    assert seen["X-Forwarded-Proto"] == "https"


def test_request_id_kept_when_sane(recorded_gateway, recorder):
    response = requests.get(f"{recorded_gateway.url}/rid/", headers={"X-Request-ID": "client-id.42:abc"})
    assert response.headers["X-Request-ID"] == "client-id.42:abc"
    assert recorder.last("/rid/")["headers"]["X-Request-ID"] == "client-id.42:abc"


@pytest.mark.parametrize("sent", [None, "bad id with spaces", "x" * 200, "<script>"])
def test_request_id_generated_otherwise(recorded_gateway, recorder, sent):
    headers = {"X-Request-ID": sent} if sent else {}
    response = requests.get(f"{recorded_gateway.url}/rid-gen/", headers=headers)
    returned = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", returned)
    # The same id went upstream, and the upstream's own X-Request-ID does not replace ours.
    assert recorder.last("/rid-gen/")["headers"]["X-Request-ID"] == returned


def test_hop_by_hop_request_headers_stripped(recorded_gateway, recorder):
    conn = _connection(recorded_gateway)
    conn.putrequest("GET", "/hop/")
    for name, value in [("Connection", "X-Secret-Hop"), ("X-Secret-Hop", "1"), ("Keep-Alive", "timeout=1"),
                        ("TE", "trailers"), ("Proxy-Authorization", "Basic Zm9vOmJhcg=="), ("Upgrade", "h2c"),
                        ("X-Kept", "yes"), ("Cookie", "sessionid=abc")]:  # fmt: skip
        conn.putheader(name, value)
    conn.endheaders()
    assert conn.getresponse().status == 200
    seen = recorder.last("/hop/")["headers"]
    for name in ("X-Secret-Hop", "Keep-Alive", "TE", "Proxy-Authorization", "Upgrade"):
        assert seen.get(name) is None, name
    assert seen["X-Kept"] == "yes"
    assert seen["Cookie"] == "sessionid=abc"


def test_redirects_cookies_and_caching_headers_pass_back_untouched(recorded_gateway):
    response = requests.get(f"{recorded_gateway.url}/redirect", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/elsewhere/?x=1"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    assert response.headers["Cache-Control"] == "private, max-age=0"
    assert "X-Hop" not in response.headers  # named by the upstream's Connection header: hop-by-hop
    assert "Keep-Alive" not in response.headers


def test_upload_streams_to_the_upstream_while_the_client_is_still_sending(recorded_gateway, recorder):
    total = 3 * MIB
    conn = _connection(recorded_gateway)
    conn.putrequest("POST", "/upload/")
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(total))
    conn.endheaders()
    conn.send(b"a" * MIB)
    # Only a gateway that forwards as it reads lets the upstream see bytes before the body is complete.
    wait_until(
        lambda: recorder.count("/upload/") and recorder.last("/upload/")["body_bytes"] >= 512 * 1024,
        message="the upstream to receive the first part of the body",
    )
    assert recorder.last("/upload/")["body_bytes"] < total
    conn.send(b"b" * (total - MIB))
    response = conn.getresponse()
    assert response.status == 200
    assert recorder.last("/upload/")["body_bytes"] == total


def test_chunked_upload_reaches_the_upstream_with_a_length(recorded_gateway, recorder):
    def body():
        for _ in range(8):
            yield b"c" * 100_000

    response = requests.post(f"{recorded_gateway.url}/chunked/", data=body())
    assert response.status_code == 200
    seen = recorder.last("/chunked/")
    assert seen["headers"]["Content-Length"] == "800000"
    assert seen["body_bytes"] == 800_000


def test_response_streams_back_before_the_upstream_finishes(recorded_gateway, recorder):
    recorder.release.clear()
    response = requests.get(f"{recorded_gateway.url}/stream", stream=True, timeout=10)
    chunks = response.iter_content(chunk_size=None)
    assert next(chunks) == b"first"  # arrived while the upstream is still holding "second" back
    recorder.release.set()
    assert b"".join(chunks) == b"second"


def test_body_over_the_limit_is_refused_before_the_upstream_sees_it(recorded_gateway, recorder):
    before = recorder.count()
    conn = _connection(recorded_gateway)
    conn.putrequest("POST", "/too-big/")
    conn.putheader("Content-Length", str(5 * MIB))  # recorded_gateway allows 4 MiB
    conn.endheaders()
    conn.send(b"x" * 64 * 1024)
    response = conn.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert b"at most 4194304 bytes" in response.read()
    assert recorder.count() == before


def test_chunked_body_over_the_limit_is_refused_before_the_upstream_sees_it(recorded_gateway, recorder):
    before = recorder.count()

    def body():
        for _ in range(5):
            yield b"x" * MIB

    response = requests.post(f"{recorded_gateway.url}/too-big-chunked/", data=body())
    assert response.status_code == 413
    assert recorder.count() == before


def test_default_body_limit_lets_a_15_mb_upload_through(start_gateway, recorder):
    gateway = start_gateway(upstream_url=recorder.url)
    response = requests.post(f"{gateway.url}/big/", data=b"z" * (15 * MIB), timeout=60)
    assert response.status_code == 200
    assert response.json()["body_bytes"] == 15 * MIB


def test_slow_upstream_gives_504(recorded_gateway, recorder):
    recorder.slow_seconds = 2.0
    started = time.monotonic()
    response = requests.get(f"{recorded_gateway.url}/slow")
    assert response.status_code == 504
    assert response.json() == {"detail": "The API took too long to answer."}
    assert time.monotonic() - started < 1.9  # read timeout 0.5 s, not the upstream's 2 s


def test_dead_upstream_gives_502_and_readyz_503(start_gateway):
    peer = Recorder()
    gateway = start_gateway(upstream_url=peer.url, connect_timeout=1.0)
    assert requests.get(f"{gateway.url}/alive/").status_code == 200
    peer.stop()

    response = requests.get(f"{gateway.url}/alive/")
    assert response.status_code == 502
    assert response.json() == {"detail": "The API is unreachable."}
    assert "Traceback" not in response.text
    ready = requests.get(f"{gateway.url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["upstream"] == "unreachable"
    assert requests.get(f"{gateway.url}/healthz").status_code == 200  # alive, just not ready


def test_revoked_token_gets_401_within_the_cache_ttl_and_never_reaches_the_upstream(
    start_gateway, recorder, live_server, token_for
):
    ttl = 2
    gateway = start_gateway(
        upstream_url=recorder.url,
        introspection_url=f"{live_server.url}/o/introspect/",
        introspection_cache_seconds=ttl,
    )
    token = token_for(UserFactory())
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{gateway.url}/private/", headers=auth).status_code == 200
    assert recorder.count("/private/") == 1

    # Revoked at Django directly: the gateway learns it when its cached answer expires, at most `ttl` later.
    revoked_at = time.monotonic()
    revoke = requests.post(f"{live_server.url}/o/revoke_token/", data={"token": token, "client_id": "socialnet-demo"})
    assert revoke.status_code == 200
    while True:
        seen_before = recorder.count("/private/")
        sent_at = time.monotonic()
        response = requests.get(f"{gateway.url}/private/", headers=auth)
        if response.status_code == 401:
            break
        assert response.status_code == 200
        # Judged by when the request was sent, so a slow machine cannot make this flaky.
        assert sent_at - revoked_at < ttl + 0.5, "still accepted after the cache TTL"
        time.sleep(0.1)
    assert recorder.count("/private/") == seen_before, "the refused request reached the upstream"
    assert response.json() == {"detail": "Invalid, expired or revoked access token."}


def test_unknown_and_malformed_tokens_never_reach_the_upstream(recorded_gateway, recorder, oauth_clients):
    before = recorder.count()
    for header in ("Bearer unknown-token", "Bearer bad token with spaces", "Bearer"):
        response = requests.get(f"{recorded_gateway.url}/private/", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert recorder.count() == before


def test_oversized_authorization_header_refused(recorded_gateway, recorder):
    before = recorder.count()
    response = requests.get(f"{recorded_gateway.url}/private/", headers={"Authorization": "Bearer " + "a" * 5000})
    assert response.status_code == 431
    assert response.json() == {"detail": "The Authorization header is too large."}
    assert recorder.count() == before


def test_other_authorization_schemes_pass_through(recorded_gateway, recorder):
    response = requests.post(f"{recorded_gateway.url}/o/introspect-like/", auth=("client", "secret"))
    assert response.status_code == 200
    assert recorder.last("/o/introspect-like/")["headers"]["Authorization"] == "Basic Y2xpZW50OnNlY3JldA=="


def test_valid_token_reaches_the_upstream_with_its_header(recorded_gateway, recorder, token_for):
    token = token_for(UserFactory())
    response = requests.get(f"{recorded_gateway.url}/private/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert recorder.last("/private/")["headers"]["Authorization"] == f"Bearer {token}"


def test_fast_path_forwards_and_answers_like_the_flask_path(recorded_gateway, recorder, token_for):
    """The first GET of a token goes through Flask (the token is checked); the next ones take the fast path
    (app/fastpath.py). The upstream must see the same request and the client the same kind of answer."""
    auth = {"Authorization": f"Bearer {token_for(UserFactory())}", "X-Request-ID": "req-1"}
    answers, seen = [], []
    for _ in range(2):
        answers.append(requests.get(f"{recorded_gateway.url}/same/?a=1&a=2", headers=auth))
        seen.append(recorder.last("/same/"))
    flask, fast = answers
    assert [flask.status_code, fast.status_code] == [200, 200]
    assert flask.json() == fast.json()
    assert fast.headers["X-Request-ID"] == "req-1"
    assert int(fast.headers["X-RateLimit-Remaining"]) == int(flask.headers["X-RateLimit-Remaining"]) - 1
    assert {name for name in flask.headers if name.lower() != "date"} == {
        name for name in fast.headers if name.lower() != "date"
    }
    assert seen[0]["target"] == seen[1]["target"] == "/same/?a=1&a=2"
    assert dict(seen[0]["headers"]) == dict(seen[1]["headers"])

    head = requests.head(f"{recorded_gateway.url}/same/", headers=auth)
    assert head.status_code == 200 and head.content == b""
    assert recorder.last("/same/")["method"] == "HEAD"


@pytest.mark.parametrize("path", ["/healthz/", "//healthz", "/readyz/"])
def test_the_gateways_own_paths_are_never_forwarded(recorded_gateway, recorder, path):
    before = recorder.count()
    response = requests.get(f"{recorded_gateway.url}{path}")
    assert response.json()["status"] in ("ok", "ready", "unavailable")
    assert recorder.count() == before + (1 if "readyz" in path else 0)  # readyz asks the upstream's /health/ only
    if "readyz" in path:
        assert recorder.last("/health/")


def test_cors_preflight_answered_at_the_edge(recorded_gateway, recorder):
    before = recorder.count()
    response = requests.options(
        f"{recorded_gateway.url}/posts/",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert recorder.count() == before

    simple = requests.get(f"{recorded_gateway.url}/posts/", headers={"Origin": "https://app.example"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-ID" in simple.headers["Access-Control-Expose-Headers"]
    other = requests.get(f"{recorded_gateway.url}/posts/", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_upstream_retry_after_passes_unchanged(recorded_gateway):
    response = requests.get(f"{recorded_gateway.url}/busy")
    assert response.status_code == 503
    # Not stretched to the gateway's own rate-limit window (Flask-Limiter would take the larger of the two).
    assert response.headers["Retry-After"] == "7"


def test_malformed_chunked_body_is_a_400(recorded_gateway, recorder):
    before = recorder.count()
    with socket.create_connection(urlsplit(recorded_gateway.url).netloc.split(":")) as sock:
        head = b"POST /bad-chunks/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock.sendall(head + b"zz\r\nabc\r\n0\r\n\r\n")
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"The request body could not be read" in answer
    assert recorder.count() == before


def test_odd_escapes_keep_their_meaning(recorded_gateway, recorder):
    conn = _connection(recorded_gateway)
    conn.request("GET", "/odd/%zz/?q=%ff")
    assert conn.getresponse().status == 200
    target = recorder.last("/odd/%25zz/")["target"]
    assert unquote_to_bytes(target) == b"/odd/%zz/?q=\xff"


@pytest.mark.parametrize(
    ("sent", "forwarded", "meaning"),
    [
        ("/mixed/%41%zz/?b[]=%5b", "/mixed/%41%25zz/?b%5B%5D=%5b", b"/mixed/A%zz/?b[]=["),
        ("/pct/100%/?q=50%", "/pct/100%25/?q=50%25", b"/pct/100%/?q=50%"),
    ],
)
def test_targets_are_made_valid_without_changing_their_meaning(recorded_gateway, recorder, sent, forwarded, meaning):
    """A stray "%" becomes %25 and brackets are escaped; valid escapes stay as sent (urllib3, used before, escaped
    every "%" of a component holding one stray "%", turning %41 into a literal "%41")."""
    conn = _connection(recorded_gateway)
    conn.request("GET", sent)
    assert conn.getresponse().status == 200
    seen = recorder.last(urlsplit(forwarded).path)["target"]
    assert seen == forwarded
    assert unquote_to_bytes(seen) == meaning


def test_body_cut_short_is_a_400_and_the_upstream_connection_is_cut_too(recorded_gateway, recorder):
    with socket.create_connection(urlsplit(recorded_gateway.url).netloc.split(":")) as sock:
        sock.sendall(b"POST /short-body/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        sock.shutdown(socket.SHUT_WR)  # the client gives up half-way
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400")
    # Streaming means the upstream may have started reading; it then sees its connection end before the announced
    # length, never a complete request with a silently shortened body.
    assert all(r["body_bytes"] < 100000 for r in recorder.requests if r["target"] == "/short-body/")


def test_revocation_cut_short_is_a_400(recorded_gateway, recorder):
    before = recorder.count("/o/revoke_token/")
    with socket.create_connection(urlsplit(recorded_gateway.url).netloc.split(":")) as sock:
        sock.sendall(b"POST /o/revoke_token/ HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\ntoken=abc")
        sock.shutdown(socket.SHUT_WR)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400")
    assert recorder.count("/o/revoke_token/") == before


@pytest.mark.parametrize(
    "body",
    [b"[" * 10_000, b'{"token":' * 5000, b'{"token": ' + b"[" * 65 + b"]" * 65 + b"}", b'{"token": "x"'],
    ids=["10k-brackets", "nested-objects", "65-levels", "cut-json"],
)
def test_nested_or_unparsable_json_revocation_is_a_400(recorded_gateway, recorder, body):
    before = recorder.count("/o/revoke_token/")
    response = requests.post(
        f"{recorded_gateway.url}/o/revoke_token/", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text[:200]
    assert "JSON" in response.json()["detail"]
    assert recorder.count("/o/revoke_token/") == before


def test_json_revocation_within_the_depth_limit_passes(recorded_gateway, recorder):
    body = b'{"token": "abc", "x": ' + b"[" * 60 + b'"[{\\""' + b"]" * 60 + b"}"
    response = requests.post(
        f"{recorded_gateway.url}/o/revoke_token/", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert recorder.last("/o/revoke_token/")["body_bytes"] == len(body)


class DropsReusedConnections(RawPeer):
    """An upstream that answers the first request on each connection with keep-alive and then, like a server
    whose keep-alive timeout just expired, reads the next request on that connection and closes without a word."""

    def __init__(self):
        self.requests: list[str] = []
        super().__init__()

    def _read_request(self, conn: socket.socket, buffered: bytes) -> tuple[bytes, bytes] | None:
        request = self.read_request(conn, buffered)
        if request is None:
            return None
        head, _, rest = request
        method, target = head.split(b" ", 2)[:2]
        self.requests.append(f"{method.decode()} {target.decode()}")
        return head, rest

    def _serve(self, conn: socket.socket):
        with conn:
            first = self._read_request(conn, b"")
            if first is None:
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            self._read_request(conn, first[1])  # then close: the race a pooled connection can lose


def test_idempotent_request_on_a_stale_keepalive_connection_is_retried_once(start_gateway):
    upstream = DropsReusedConnections()
    try:
        gateway = start_gateway(upstream_url=upstream.url, ratelimit_enabled=False)
        with requests.Session() as client:
            assert client.get(f"{gateway.url}/first/").status_code == 200
            second = client.get(f"{gateway.url}/second/")
            assert second.status_code == 200, second.text
            assert upstream.requests.count("GET /second/") == 2  # the dropped try, then the retry
            # A POST is never sent twice: the same race is a 502.
            assert client.get(f"{gateway.url}/third/").status_code == 200
            post = client.post(f"{gateway.url}/fourth/", data=b"x")
            assert post.status_code == 502
            assert upstream.requests.count("POST /fourth/") == 1
    finally:
        upstream.stop()
