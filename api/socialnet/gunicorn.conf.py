"""gunicorn settings for Django, the one place for them: the Procfile, docker compose, the API image, the
end-to-end stack and the benchmarks all run `gunicorn config.wsgi:application -c gunicorn.conf.py` from this
directory, and give only the address (and the access log) on their command line.

The request limits must admit everything the gateway forwards (api_gateway/gunicorn.conf.py, checked by
tests/test_deployment_config.py): past them gunicorn answers with its own HTML page before Django runs, so a
request the gateway accepted would get an HTML 400/414 instead of the API's JSON. The request line is gunicorn's
maximum on both sides; the gateway refuses (JSON 414) a target that its re-encoding would make longer. The gateway
adds a handful of headers (X-Forwarded-*, X-Real-IP, X-Request-ID) and folds repeated ones into a single line, so
Django allows more fields, and longer ones, than the gateway does.
"""

worker_class = "gthread"
workers = 2
threads = 4
timeout = 30
limit_request_line = 8190
limit_request_fields = 120
limit_request_field_size = 32768
