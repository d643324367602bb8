"""gunicorn settings for the gateway: threaded workers, since a gateway thread mostly waits on the upstream."""

import os

bind = os.environ.get("GATEWAY_BIND", "0.0.0.0:5000")
worker_class = "gthread"
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("GATEWAY_THREADS", "16"))
# Longer than GATEWAY_READ_TIMEOUT so a slow upstream yields our JSON 504, not a killed worker.
timeout = int(os.environ.get("GATEWAY_WORKER_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GATEWAY_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# Request line and header limits (gunicorn answers 400 past these, before our code runs).
limit_request_line = 8190
limit_request_field_size = 16384
