#!/usr/bin/env bash
# `make run`: prepare the database and start SocialNet.
#   embedded (default): SQLite, tasks in-process, Django's dev server on :8000.
#   full (REDIS_URL set): gunicorn + one Celery worker per queue + beat, from the Procfile, via scripts/supervise.py
#   (a process that dies is restarted; Ctrl-C stops them all).
#   Both start the API gateway on :5000 in front of Django: clients use :5000.
# Every server listens on 127.0.0.1 only (GATEWAY_BIND / DJANGO_BIND to change that); secrets come from this
# checkout's .env, created with random values on first run (scripts/ensure_env.py); debug pages stay off unless
# DJANGO_DEBUG=true is set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN="$ROOT/.venv/bin"
export PYTHONUNBUFFERED=1
export DJANGO_PORT="${DJANGO_PORT:-8000}" GATEWAY_PORT="${GATEWAY_PORT:-5000}"
export DJANGO_BIND="${DJANGO_BIND:-127.0.0.1:$DJANGO_PORT}"
export GATEWAY_BIND="${GATEWAY_BIND:-127.0.0.1:$GATEWAY_PORT}"
export GATEWAY_UPSTREAM_URL="${GATEWAY_UPSTREAM_URL:-http://127.0.0.1:$DJANGO_PORT}"
# Every process below (and manage.py in any later shell) reads this file itself; the environment wins over it.
export SOCIALNET_ENV_FILE="${SOCIALNET_ENV_FILE:-$ROOT/.env}"
"$BIN/python" scripts/ensure_env.py "$SOCIALNET_ENV_FILE"

cd api/socialnet
echo "==> Applying migrations"
"$BIN/python" manage.py migrate --noinput
echo "==> Collecting static files"
"$BIN/python" manage.py collectstatic --noinput -v0
echo "==> OAuth clients"
"$BIN/python" manage.py create_demo_client
# The gateway's confidential client, with the secret from .env (the gateway reads the same file).
"$BIN/python" manage.py create_gateway_client
if [ "${SEED_DEMO:-true}" = "true" ]; then
  echo "==> Demo network (skip with SEED_DEMO=false)"
  "$BIN/python" manage.py seed_demo
fi
cd "$ROOT"

banner() {
  echo
  echo "API gateway:        http://localhost:$GATEWAY_PORT/   (use this one: every client-facing path, rate limits)"
  echo "SocialNet API:      http://localhost:$DJANGO_PORT/   (Django itself; listens on $DJANGO_BIND)"
  echo "API docs (Swagger): http://localhost:$GATEWAY_PORT/api/docs/"
  echo "Health:             http://localhost:$GATEWAY_PORT/readyz (gateway), http://localhost:$GATEWAY_PORT/health/ (Django)"
  echo "Demo OAuth client:  ${DEMO_CLIENT_ID:-socialnet-demo} (public, PKCE; redirect http://127.0.0.1:8765/callback or Swagger UI)"
  if [ "${SEED_DEMO:-true}" = "true" ]; then
    echo "Demo logins:        alice (premium), bob, carol (moderator); password socialnet-demo-2026"
  fi
  echo "Secrets:            $SOCIALNET_ENV_FILE (this checkout's own; never commit it)"
  echo "Stop with Ctrl-C."
  echo
}

# The banner waits until Django answers /health/ and the gateway /readyz: before that, requests would get 502.
# It runs beside the servers and gives up when this script (or what it exec'd into) is gone.
announce_when_ready() {
  if "$BIN/python" - "http://127.0.0.1:$DJANGO_PORT/health/" "http://127.0.0.1:$GATEWAY_PORT/readyz" "$$" <<'PY'
import os, sys, time, urllib.request

django, gateway, parent = sys.argv[1], sys.argv[2], int(sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy


def answers(url):
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


while True:
    try:
        os.kill(parent, 0)
    except OSError:
        sys.exit(1)
    if answers(django) and answers(gateway):
        sys.exit(0)
    time.sleep(0.3)
PY
  then
    banner
  fi
}
announce_when_ready &
ANNOUNCER_PID=$!

if [ -n "${REDIS_URL:-}" ]; then
  echo "==> Full mode (REDIS_URL set): web, workers and beat from the Procfile (a process that dies is restarted)"
  # Every process reads .env itself, so a variable set in the environment wins, as it does for manage.py.
  exec "$BIN/python" scripts/supervise.py Procfile
else
  echo "==> Embedded mode: SQLite (unless DATABASE_URL is set), tasks run in-process"
  # One gateway worker: without Redis, rate limits are counted per process.
  (cd api_gateway && GATEWAY_WORKERS="${GATEWAY_WORKERS:-1}" exec "$BIN/gunicorn" wsgi:app -c gunicorn.conf.py) &
  GATEWAY_PID=$!
  trap 'kill "$GATEWAY_PID" "$ANNOUNCER_PID" 2>/dev/null || true' EXIT
  cd api/socialnet
  # The dev server only on loopback: clients come through the gateway.
  "$BIN/python" manage.py runserver "$DJANGO_BIND"
fi
