"""gunicorn settings for the gateway.

gevent workers: one greenlet per connection instead of a fixed pool of threads. With gthread (2 workers x 16
threads) 40 clients trickling a body or their headers held every thread and `/healthz` stopped answering; a
greenlet waiting on a slow socket costs a few KB, so the gateway keeps serving everyone else. Headers must arrive
within `keepalive` seconds (gunicorn's async workers time the header read out with it), bodies within
GATEWAY_CLIENT_TIMEOUT per read and GATEWAY_CLIENT_MIN_RATE overall (app/routes/proxy.py).
"""

import json
import os

from gunicorn import util

# Loopback unless told otherwise: the gateway is the only public port, and only where the operator says so
# (docker compose sets GATEWAY_BIND=0.0.0.0:5000 inside the container).
bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:5000")
worker_class = os.environ.get("GATEWAY_WORKER_CLASS", "gevent")
# One gevent worker serves up to worker_connections clients at once and, at about a third of Django's CPU per
# request, keeps up with a Django that has several cores. Where the gateway shares its cores with Django and
# PostgreSQL (make run, compose on one host, bench/gateway.py) a second worker adds no throughput and costs about a
# tenth more CPU per request under load (docs/benchmarks.md, "Gateway overhead"): each process wakes up for fewer
# ready connections per turn of its event loop. Give it one worker per core it has to itself.
workers = int(os.environ.get("GATEWAY_WORKERS", "1"))
# gthread only (GATEWAY_WORKER_CLASS=gthread); gevent workers take up to worker_connections at once.
threads = int(os.environ.get("GATEWAY_THREADS", "16"))
worker_connections = int(os.environ.get("GATEWAY_WORKER_CONNECTIONS", "1000"))
# Longer than GATEWAY_READ_TIMEOUT so a slow upstream yields our JSON 504, not a killed worker.
timeout = int(os.environ.get("GATEWAY_WORKER_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GATEWAY_ACCESS_LOG", "-") or None
# The gateway reads X-Forwarded-For/Proto/Host itself, only from the proxies GATEWAY_TRUSTED_PROXIES says stand in
# front of it (app/forwarding.py); gunicorn must not act on them too. With its defaults, a client on loopback could
# set the request's scheme with X-Forwarded-Proto (passed on to Django as X-Forwarded-Proto) and SCRIPT_NAME with a
# header. No header is trusted from anyone here, so the address check gunicorn would make on every request (an
# ipaddress parse of the peer) is spared too: "*" admits every peer to a list of nothing.
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
forwarded_allow_ips = "*"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# Request line and header limits: past these gunicorn answers 414/431/400 itself, before our code runs (in JSON,
# below). Django's server admits at least as much (api/socialnet/gunicorn.conf.py; tests/test_deployment_config.py
# checks it), so whatever passes here is never refused there with an HTML page. 8190 is gunicorn's maximum.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 16384


def _write_json_error(sock, status_int, reason, mesg):
    """gunicorn answers requests it cannot parse (a malformed request line or header, a line or header over the
    limits above) with an HTML page of its own; the API's errors are JSON in DRF's shape everywhere."""
    body = json.dumps({"detail": f"{reason}: {mesg}" if mesg else f"{reason}."}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def post_worker_init(worker):
    # gunicorn's workers write those answers through util.write_error, and offer no setting to change it.
    util.write_error = _write_json_error
