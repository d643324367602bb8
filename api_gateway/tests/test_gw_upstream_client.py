"""The gateway's HTTP/1.1 client (app/upstream.py) against a scripted peer over real sockets: every way an answer's
body can be framed, cut into awkward pieces, and what happens to the connection afterwards."""

from __future__ import annotations

import socket
import time

import pytest
from gw_servers import RawPeer

from app.upstream import UpstreamError, UpstreamPool, UpstreamTimeout


class ScriptedUpstream(RawPeer):
    """Answers each request it reads with the next scripted answer: a list of byte strings sent one by one with a
    short pause between them (so the client sees them as separate reads), then closes if the answer says so."""

    def __init__(self):
        self.answers: list[tuple[list[bytes], bool]] = []
        self.requests: list[bytes] = []
        super().__init__()

    def answer(self, *pieces: bytes, close: bool = False) -> None:
        self.answers.append((list(pieces), close))

    def _serve(self, conn: socket.socket):
        buffered = b""
        with conn:
            while True:
                request = self.read_request(conn, buffered)
                if request is None:
                    return
                head, body, buffered = request
                self.requests.append(head + b"\r\n\r\n" + body)
                if not self.answers:
                    return  # unscripted: hang up, and the test's own assertions see the extra request
                pieces, close = self.answers.pop(0)
                for piece in pieces:
                    conn.sendall(piece)
                    time.sleep(0.02)
                if close:
                    return


@pytest.fixture
def upstream():
    peer = ScriptedUpstream()
    yield peer
    peer.stop()


def _pool(upstream: ScriptedUpstream, **overrides) -> UpstreamPool:
    options = {"maxsize": 4, "connect_timeout": 2.0, "read_timeout": 2.0, **overrides}
    return UpstreamPool(upstream.url, **options)


def _get(pool: UpstreamPool, path: str = "/x/", method: str = "GET"):
    answer = pool.request(method, path, {"Host": "gw.example"}, replayable=True)
    return answer, b"".join(answer.stream())


def test_chunked_answer_cut_anywhere_is_reassembled_and_the_connection_reused(upstream):
    upstream.answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5",
        b";ext=1\r\nhel",
        b"lo\r\n6\r\n world\r",
        b"\n0\r\nX-Trailer: t\r\n",
        b"\r\n",
    )
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    pool = _pool(upstream)
    answer, body = _get(pool)
    assert (answer.status, answer.reason, body) == (200, "OK", b"hello world")
    assert ("Transfer-Encoding", "chunked") in answer.headers and ("X-A", "1") in answer.headers
    assert _get(pool)[1] == b"ok"
    assert upstream.connections == 1


def test_chunks_stream_as_they_arrive(upstream):
    upstream.answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n", b"3\r\ntwo\r\n0\r\n\r\n")
    answer = _pool(upstream).request("GET", "/s/", {}, replayable=True)
    assert list(answer.stream()) == [b"one", b"two"]


def test_sized_body_larger_than_one_read_and_the_next_answer_on_the_same_connection(upstream):
    body = bytes(range(256)) * 1024  # 256 KiB, more than one read
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body), body[:1000], body[1000:])
    upstream.answer(b"HTTP/1.1 204 No Content\r\n\r\n")
    pool = _pool(upstream)
    assert _get(pool)[1] == body
    answer, rest = _get(pool)
    assert (answer.status, rest) == (204, b"")
    assert upstream.connections == 1


def test_head_answer_has_no_body_whatever_its_length_says(upstream):
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes")
    pool = _pool(upstream)
    assert _get(pool, method="HEAD")[1] == b""
    assert _get(pool)[1] == b"yes"
    assert upstream.requests[0].startswith(b"HEAD /x/ HTTP/1.1\r\nHost: gw.example\r\n")
    assert upstream.connections == 1


def test_body_without_length_ends_with_the_connection_which_is_not_reused(upstream):
    upstream.answer(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ", b"and last", close=True)
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    pool = _pool(upstream)
    assert _get(pool)[1] == b"first and last"
    assert _get(pool)[1] == b"ok"
    assert upstream.connections == 2


def test_interim_answers_are_skipped(upstream):
    upstream.answer(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nc")
    answer, body = _get(_pool(upstream))
    assert (answer.status, body) == (201, b"c")


def test_an_abandoned_body_closes_its_connection(upstream):
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", b"67890")
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    pool = _pool(upstream)
    answer = pool.request("GET", "/x/", {}, replayable=True)
    assert next(answer.stream()) == b"12345"
    answer.close()  # the client went away: what is left of the body would be read as the next answer
    assert _get(pool)[1] == b"ok"
    assert upstream.connections == 2


def test_idle_connections_beyond_the_pool_size_are_closed(upstream):
    for _ in range(3):
        upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    pool = _pool(upstream, maxsize=1)
    answers = [pool.request("GET", "/x/", {}, replayable=True) for _ in range(2)]  # two at once: two connections
    for answer in answers:
        assert b"".join(answer.stream()) == b"ok"
    assert len(pool._idle) == 1
    assert _get(pool)[1] == b"ok"
    assert upstream.connections == 2


def test_post_without_body_announces_an_empty_one_and_streams_an_iterable_body(upstream):
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    upstream.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    pool = _pool(upstream)
    pool.request("POST", "/empty/", {}, replayable=False).close()
    pool.request("PUT", "/parts/", {"Content-Length": "6"}, iter([b"abc", b"def"]), replayable=False).close()
    assert upstream.requests[0] == b"POST /empty/ HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n" % (
        upstream.url.removeprefix("http://").encode()
    )
    assert upstream.requests[1].endswith(b"Content-Length: 6\r\n\r\nabcdef")


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ],
)
def test_malformed_answers_are_upstream_errors(upstream, answer):
    upstream.answer(answer, close=True)
    with pytest.raises(UpstreamError):
        _get(_pool(upstream))


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ],
    ids=["short-sized", "bad-chunk-size", "chunk-too-long", "cut-chunk"],
)
def test_bodies_that_break_off_or_lie_are_upstream_errors_while_streaming(upstream, answer):
    upstream.answer(answer, close=True)
    answer = _pool(upstream).request("GET", "/x/", {}, replayable=True)
    with pytest.raises(UpstreamError):
        b"".join(answer.stream())


def test_silent_upstream_is_a_timeout_and_a_closed_port_an_error(upstream):
    upstream.answer(b"HTTP/1.1 200 OK\r\n", b"", close=False)  # the head never completes
    with pytest.raises(UpstreamTimeout):
        _pool(upstream, read_timeout=0.3).request("GET", "/x/", {}, replayable=True)
    upstream.stop()
    with pytest.raises(UpstreamError) as refused:
        _pool(upstream).request("GET", "/x/", {}, replayable=True)
    assert not isinstance(refused.value, UpstreamTimeout)
    assert "cannot connect" in str(refused.value)
