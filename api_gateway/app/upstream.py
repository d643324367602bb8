"""Talking to the upstream: a minimal HTTP/1.1 client with kept-alive connections to the one fixed upstream, shared
by the Flask proxy route (app/routes/proxy.py), the fast path (app/fastpath.py) and readiness (app/routes/health.py).

Why not urllib3 (which the gateway used before): for one request to one known server, urllib3 and http.client cost
about 0.23 ms of CPU (URL re-parsing and re-encoding, header bookkeeping, an email-parser for the answer's headers,
a buffered file object per response) against about 0.015 ms for the exchange written out here, on a gateway whose
whole own work is about 0.5 ms. The upstream is always our Django behind gunicorn, so this client needs only what
that exchange uses: Content-Length, chunked or read-until-close bodies, streamed as they arrive; keep-alive with a
bounded idle pool; one retry of a bodiless safe request on a pooled connection the upstream had closed; connect
and read timeouts. It reads no proxy settings, .netrc or cookies, follows no redirects, adds no headers but the
Host and Content-Length HTTP/1.1 requires (the upstream sees the client's User-Agent and Accept-Encoding, or none).
"""

from __future__ import annotations

import logging
import re
import select
import socket
import ssl
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# The longest request line Django's server accepts (limit_request_line in api/socialnet/gunicorn.conf.py, gunicorn's
# maximum; tests/test_deployment_config.py keeps them equal). The gateway's own server stops longer lines, but the
# target is re-encoded on the way ("|" becomes "%7C"), so a line it accepted can grow past Django's limit: refused
# in JSON rather than by Django's server with an HTML page.
MAX_UPSTREAM_REQUEST_LINE = 8190
# Safe to send twice (RFC 9110 §9.2.2) and, without a body, cheap to replay: the only requests the gateway retries
# when a pooled keep-alive connection turns out to have been closed by the upstream in the meantime.
RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Methods whose requests carry a body: without one they announce an empty one (as urllib3 did before), so the
# upstream never waits for a body that is not coming.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# An answer's status line and headers larger than this are not Django's: a 502 rather than unbounded buffering.
MAX_RESPONSE_HEAD = 64 * 1024
_CHUNK_SIZE_RE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")


class UpstreamError(Exception):
    """The upstream could not be reached or broke the exchange: the gateway answers 502."""


class UpstreamTimeout(UpstreamError):
    """The upstream took longer than the read timeout to send (more of) its answer: the gateway answers 504."""


class _ClosedBeforeAnswering(UpstreamError):
    """The connection ended before a single byte of answer: on a pooled connection, the upstream closed it while it
    sat idle (the keep-alive race every HTTP client has), which is the one case a safe request is sent again."""


def _unpatched_poll():
    """select.poll as the standard library has it. gevent's workers replace it with a greenlet-aware version that
    starts watchers on the event loop even for a zero timeout; a zero-timeout poll never blocks, so the plain system
    call is right in every worker model (and, unlike select(), takes descriptors past 1023)."""
    monkey = sys.modules.get("gevent.monkey")  # never imported: nothing is patched
    return monkey.get_original("select", "poll") if monkey is not None else select.poll


_poll = _unpatched_poll()


def request_line_too_long(method: str, target: str) -> bool:
    return len(method) + len(target) + len(" HTTP/1.1") + 1 > MAX_UPSTREAM_REQUEST_LINE


class _Connection:
    """One socket to the upstream and the bytes received on it that belong to the answer being read."""

    __slots__ = ("buffer", "reused", "sock", "timeout")

    def __init__(self, sock: socket.socket, timeout: float):
        self.sock = sock
        self.buffer = b""
        self.timeout = timeout
        self.reused = False

    def set_read_timeout(self, seconds: float) -> None:
        if seconds != self.timeout:
            self.sock.settimeout(seconds)
            self.timeout = seconds

    def receive(self) -> bytes:
        try:
            return self.sock.recv(CHUNK)
        except TimeoutError as exc:
            raise UpstreamTimeout("timed out waiting for the upstream") from exc
        except OSError as exc:
            raise UpstreamError(f"reading from the upstream failed: {exc}") from exc

    def idle_and_open(self) -> bool:
        """Whether a pooled connection can carry a request: an idle keep-alive connection that is readable has
        been closed by the upstream (or holds bytes nobody asked for); either way it is of no use."""
        poller = _poll()
        poller.register(self.sock, select.POLLIN)
        try:
            return not poller.poll(0)
        except OSError:
            return False

    def close(self) -> None:
        self.sock.close()


class UpstreamPool:
    """Kept-alive connections to the one upstream. Connections are taken from and returned to a deque (its append
    and pop are atomic, for threads and greenlets alike); past `maxsize` idle ones, a returned connection is closed
    rather than making anyone wait for a free one."""

    def __init__(self, upstream_url: str, *, maxsize: int, connect_timeout: float, read_timeout: float):
        parts = urlsplit(upstream_url)
        # An https upstream (config allows it) is verified against the system's CAs, as urllib3 did.
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.address = (parts.hostname, parts.port or (443 if self.tls else 80))
        self.host = parts.netloc
        self.maxsize = maxsize
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: deque[_Connection] = deque()

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | Iterable[bytes] | None = None,
        *,
        replayable: bool,
        request_id: str = "-",
        read_timeout: float | None = None,
    ) -> UpstreamResponse:
        """The upstream's answer, status and headers read, body not yet (UpstreamResponse.stream() relays it).

        Raises UpstreamTimeout (504), UpstreamError (502), or whatever reading `body` raises (the client's body
        errors, app/routes/proxy.py). A `replayable` request that finds its pooled connection closed by the
        upstream is sent once more on a new connection; nothing else is retried: a POST is never sent twice, and
        a slow upstream is not asked twice, so a 504 never takes twice as long.
        """
        head = self._request_head(method, target, headers, body)
        read_timeout = self.read_timeout if read_timeout is None else read_timeout
        connection = self._connection(read_timeout)
        try:
            return self._exchange(connection, method, head, body)
        except _ClosedBeforeAnswering as exc:
            if not (connection.reused and replayable):
                raise
            logger.info("Upstream closed a kept-alive connection, retrying once (request %s): %s", request_id, exc)
        return self._exchange(self._connect(read_timeout), method, head, body)

    def _request_head(self, method: str, target: str, headers: Mapping[str, str], body) -> bytes:
        lines = [f"{method} {target} HTTP/1.1"]
        if "Host" not in headers:
            lines.append(f"Host: {self.host}")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        if body is None and method in BODY_METHODS:
            lines.append("Content-Length: 0")
        lines.append("\r\n")
        # WSGI servers hand headers over as latin-1 text: encoding them back gives the client's bytes.
        return "\r\n".join(lines).encode("latin-1")

    def _connection(self, read_timeout: float) -> _Connection:
        while True:
            try:
                connection = self._idle.pop()  # the most recently used: the least likely to have timed out
            except IndexError:
                return self._connect(read_timeout)
            if connection.idle_and_open():
                connection.set_read_timeout(read_timeout)
                return connection
            connection.close()

    def _connect(self, read_timeout: float) -> _Connection:
        try:
            sock = socket.create_connection(self.address, timeout=self.connect_timeout)
        except OSError as exc:
            raise UpstreamError(f"cannot connect to the upstream: {exc}") from exc
        # Small requests and answers must leave at once, not wait for Nagle's algorithm to coalesce them.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_hostname=self.address[0])
            except OSError as exc:  # ssl.SSLError included
                sock.close()
                raise UpstreamError(f"TLS with the upstream failed: {exc}") from exc
        sock.settimeout(read_timeout)
        return _Connection(sock, read_timeout)

    def _exchange(self, connection: _Connection, method: str, head: bytes, body) -> UpstreamResponse:
        try:
            self._send(connection, head, body)
            return self._read_answer(connection, method)
        except BaseException:
            connection.close()
            raise

    @staticmethod
    def _send(connection: _Connection, head: bytes, body) -> None:
        try:
            if body is None or isinstance(body, bytes):
                connection.sock.sendall(head + body if body else head)
                return
            connection.sock.sendall(head)
        except OSError as exc:
            raise _ClosedBeforeAnswering(f"sending to the upstream failed: {exc}") from exc
        # A streamed body: the client's read errors propagate as they are; only socket errors are the upstream's.
        for chunk in body:
            try:
                connection.sock.sendall(chunk)
            except OSError as exc:
                raise UpstreamError(f"sending the body to the upstream failed: {exc}") from exc

    def _read_answer(self, connection: _Connection, method: str) -> UpstreamResponse:
        while True:
            status, reason, headers = self._read_head(connection)
            # 1xx interim answers (100 Continue, 103 Early Hints) precede the real one; 101 would be an upgrade,
            # which the gateway never asks for (Upgrade is hop-by-hop and stripped).
            if not 100 <= status < 200 or status == 101:
                return UpstreamResponse(self, connection, method, status, reason, headers)

    @staticmethod
    def _read_head(connection: _Connection) -> tuple[int, str, list[tuple[str, str]]]:
        received_nothing = not connection.buffer
        while (end := connection.buffer.find(b"\r\n\r\n")) < 0:
            if len(connection.buffer) > MAX_RESPONSE_HEAD:
                raise UpstreamError("the upstream's response headers are too large")
            try:
                data = connection.receive()
            except UpstreamTimeout:
                raise
            except UpstreamError as exc:
                if received_nothing:  # e.g. ECONNRESET: the upstream dropped the connection unanswered
                    raise _ClosedBeforeAnswering(str(exc)) from exc
                raise
            if not data:
                if received_nothing and not connection.buffer:
                    raise _ClosedBeforeAnswering("the upstream closed the connection without answering")
                raise UpstreamError("the upstream closed the connection in the middle of its headers")
            connection.buffer += data
        head = connection.buffer[:end].decode("latin-1")
        connection.buffer = connection.buffer[end + 4 :]
        status_line, *lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise UpstreamError(f"not an HTTP/1.x status line: {status_line[:100]!r}")
        headers: list[tuple[str, str]] = []
        for line in lines:
            if line[:1] in (" ", "\t") and headers:  # obsolete line folding (RFC 9112 §5.2): one value
                name, value = headers.pop()
                headers.append((name, f"{value} {line.strip()}"))
                continue
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise UpstreamError(f"malformed response header line: {line[:100]!r}")
            headers.append((name, value.strip(" \t")))
        if version == "HTTP/1.0":
            # Keep-alive negotiation of HTTP/1.0 is not worth having: such an answer ends its connection.
            headers.append(("Connection", "close"))
        return int(code), reason, headers

    def _release(self, connection: _Connection) -> None:
        connection.reused = True
        if len(self._idle) < self.maxsize:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class UpstreamResponse:
    """An answer whose body is still on the wire. `stream()` yields it as it arrives; the connection goes back to
    the pool once the body has been read to its end, and is closed if the answer is abandoned before that."""

    def __init__(
        self,
        pool: UpstreamPool,
        connection: _Connection,
        method: str,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
    ):
        self.status = status
        self.reason = reason
        self.headers = headers
        self._pool = pool
        self._connection: _Connection | None = connection
        self._keep_alive = True
        self._length: int | None = None
        self._chunked = False
        self._framing(method)
        if self._length == 0:
            self._finished()

    def _framing(self, method: str) -> None:
        """How the body ends (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304; chunked; Content-Length; or at
        the connection's close."""
        lengths, codings = set(), ""
        for name, value in self.headers:
            lower = name.lower()
            if lower == "content-length":
                lengths.update(item.strip() for item in value.split(","))
            elif lower == "transfer-encoding":
                codings = f"{codings},{value}" if codings else value
            elif lower == "connection" and "close" in (token.strip().lower() for token in value.split(",")):
                self._keep_alive = False
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self._length = 0
        elif codings:
            if codings.rsplit(",", 1)[-1].strip().lower() != "chunked":
                self._keep_alive = False  # a body that only the connection's close ends
            else:
                self._chunked = True
        elif lengths:
            if len(lengths) != 1 or not (length := lengths.pop()).isdigit():
                raise UpstreamError(f"invalid Content-Length from the upstream: {lengths!r}")
            self._length = int(length)
        else:
            self._keep_alive = False
        if self.status == 101:
            self._keep_alive = False

    def stream(self) -> Iterator[bytes]:
        """The body's bytes, each piece as soon as it arrived (a chunked answer is relayed chunk by chunk)."""
        if self._connection is None:
            return
        if self._chunked:
            yield from self._chunks()
        elif self._length is not None:
            yield from self._sized(self._length)
        else:
            yield from self._until_close()
        self._finished()

    def _sized(self, length: int) -> Iterator[bytes]:
        connection = self._connection
        left = length
        while left > 0:
            if connection.buffer:
                data, connection.buffer = connection.buffer[:left], connection.buffer[left:]
            else:
                data = connection.receive()
                if not data:
                    raise UpstreamError(f"the upstream's body ended {left} bytes short of its Content-Length")
                if len(data) > left:  # the next chunk's size line, or bytes nobody asked for (then not reused)
                    data, connection.buffer = data[:left], data[left:]
            left -= len(data)
            yield data

    def _until_close(self) -> Iterator[bytes]:
        connection = self._connection
        if connection.buffer:
            data, connection.buffer = connection.buffer, b""
            yield data
        while data := connection.receive():
            yield data

    def _chunks(self) -> Iterator[bytes]:
        while size := self._chunk_size():
            yield from self._sized(size)
            self._expect_crlf()
        self._skip_trailers()

    def _line(self) -> bytes:
        connection = self._connection
        while (end := connection.buffer.find(b"\r\n")) < 0:
            if len(connection.buffer) > MAX_RESPONSE_HEAD:
                raise UpstreamError("a chunk-size or trailer line from the upstream is too long")
            data = connection.receive()
            if not data:
                raise UpstreamError("the upstream closed the connection in the middle of a chunked body")
            connection.buffer += data
        line, connection.buffer = connection.buffer[:end], connection.buffer[end + 2 :]
        return line

    def _chunk_size(self) -> int:
        line = self._line()
        match = _CHUNK_SIZE_RE.fullmatch(line)
        if match is None:
            raise UpstreamError(f"malformed chunk-size line from the upstream: {line[:100]!r}")
        return int(match.group(1), 16)

    def _expect_crlf(self) -> None:
        if self._line():
            raise UpstreamError("a chunk from the upstream is longer than its announced size")

    def _skip_trailers(self) -> None:
        # Trailer fields are not passed on (as before): the client's headers were sent long ago.
        while self._line():
            pass

    def _finished(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._keep_alive and not connection.buffer:
            self._pool._release(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Done with the answer: a body not read to its end leaves its connection unusable, so it is closed."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def relay(upstream: UpstreamResponse, request_id: str) -> Iterator[bytes]:
    try:
        # Compressed bodies go through untouched, matching the upstream's headers.
        yield from upstream.stream()
    except UpstreamError as exc:
        # Headers are already sent; all we can do is cut the connection so the client sees a truncated body.
        logger.warning("Upstream response broke off after the headers (request %s): %s", request_id, exc)
        raise
