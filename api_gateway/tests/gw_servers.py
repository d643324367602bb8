"""Real HTTP servers for the gateway tests: the gateway itself (werkzeug's threaded server) and a small recording
peer that plays an upstream whose every received request is visible (or a slow or dead one)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from app import GatewayConfig


class ServerThread:
    """A WSGI app served over real HTTP on a free loopback port, in a daemon thread."""

    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.app = wsgi_app
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RawPeer:
    """A loopback TCP peer speaking HTTP/1.1 by hand, for what a real server would never do on purpose (answers cut
    into pieces, connections dropped at the worst moment). Subclasses define `_serve(conn)`, one thread per
    connection; `read_request` reads one request off a connection."""

    def __init__(self):
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    @staticmethod
    def read_request(conn: socket.socket, buffered: bytes) -> tuple[bytes, bytes, bytes] | None:
        """(head, body, what was read past the body), or None when the client hung up before a whole head."""
        while b"\r\n\r\n" not in buffered:
            data = conn.recv(65536)
            if not data:
                return None
            buffered += data
        head, _, buffered = buffered.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        body_length = int(length.group(1)) if length else 0
        while len(buffered) < body_length:
            buffered += conn.recv(65536)
        return head, buffered[:body_length], buffered[body_length:]

    def stop(self):
        """Stop listening for good: shutdown wakes the accepting thread (close alone would leave it listening)."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


class Recorder:
    """A tiny HTTP/1.1 peer that records every request it receives (as soon as its headers arrive).

    Paths: /slow sleeps before answering, /stream sends a first chunk and the rest only after `release` is set,
    /redirect answers 302 with cookies and hop-by-hop headers; anything else reads the body and answers 200 JSON.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.slow_seconds = 3.0
        # What /o/introspect/ answers when this peer plays Django's introspection endpoint.
        self.introspection = {"active": True, "scope": "read write", "exp_in": 3600, "delay": 0.3}
        recorder = self

        self.connections: list[socket.socket] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with recorder.lock:
                    recorder.connections.append(self.connection)

            def log_message(self, *args):
                pass

            def _handle(self):
                record = {"method": self.command, "target": self.path, "headers": self.headers, "body_bytes": 0}
                with recorder.lock:
                    recorder.requests.append(record)
                self._read_body(record)
                path = urlsplit(self.path).path
                if path == "/o/introspect/":
                    answer = dict(recorder.introspection)
                    time.sleep(answer.pop("delay"))
                    answer["exp"] = int(time.time()) + answer.pop("exp_in")
                    return self._json(answer)
                if path == "/slow":
                    time.sleep(recorder.slow_seconds)
                if path == "/stream":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self._chunk(b"first")
                    recorder.release.wait(10)
                    self._chunk(b"second")
                    self._chunk(b"")
                    return
                if path == "/busy":
                    self.send_response(503)
                    self.send_header("Retry-After", "7")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere/?x=1")
                    self.send_header("Set-Cookie", "a=1; Path=/")
                    self.send_header("Set-Cookie", "b=2; Path=/; HttpOnly")
                    self.send_header("Cache-Control", "private, max-age=0")
                    self.send_header("Connection", "X-Hop")
                    self.send_header("X-Hop", "secret")
                    self.send_header("Keep-Alive", "timeout=5")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._json({"target": self.path, "body_bytes": record["body_bytes"]})

            def _json(self, payload: dict):
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Request-ID", "upstream-must-not-win")
                self.end_headers()
                self.wfile.write(body)

            def _read_body(self, record):
                length = int(self.headers.get("Content-Length") or 0)
                while length > 0:
                    data = self.rfile.read(min(length, 65536))
                    if not data:
                        break
                    length -= len(data)
                    record["body_bytes"] += len(data)

            def _chunk(self, data: bytes):
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.requests if path is None or urlsplit(r["target"]).path == path)

    def last(self, path: str) -> dict:
        with self.lock:
            return [r for r in self.requests if urlsplit(r["target"]).path == path][-1]

    def stop(self):
        """Like a killed process: stop listening and cut the kept-alive connections too."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                    connection.close()


def gateway_config(**overrides) -> GatewayConfig:
    """Test defaults: real Redis (the test run's REDIS_URL), the real introspection secret, and a key prefix of its
    own so counters never leak between gateways or runs."""
    values = {
        "redis_url": os.environ.get("REDIS_URL", ""),
        "client_secret": os.environ.get("GATEWAY_CLIENT_SECRET", "test-gateway-secret"),
        "ratelimit_key_prefix": f"gwtest-{uuid.uuid4().hex[:8]}",
        **overrides,
    }
    return GatewayConfig(**values)
