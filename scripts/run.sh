#!/usr/bin/env bash
# `make run`: prepare the database and start SocialNet.
#   embedded (default): SQLite, tasks in-process, Django's dev server on :8000.
#   full (REDIS_URL set): gunicorn + one Celery worker per queue + beat, from the Procfile, via honcho.
#   Both start the API gateway on :5000 in front of Django: clients use :5000.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN="$ROOT/.venv/bin"
export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
export PYTHONUNBUFFERED=1
export DJANGO_PORT="${DJANGO_PORT:-8000}" GATEWAY_PORT="${GATEWAY_PORT:-5000}"
export GATEWAY_BIND="${GATEWAY_BIND:-0.0.0.0:$GATEWAY_PORT}"
export GATEWAY_UPSTREAM_URL="${GATEWAY_UPSTREAM_URL:-http://127.0.0.1:$DJANGO_PORT}"

cd api/socialnet
echo "==> Applying migrations"
"$BIN/python" manage.py migrate --noinput
echo "==> Collecting static files"
"$BIN/python" manage.py collectstatic --noinput -v0
echo "==> OAuth clients"
"$BIN/python" manage.py create_demo_client
# The gateway introspects tokens as a confidential client; without a configured secret, a fresh one per run
# (it lives only in this process tree's environment, and the client is updated to match).
export GATEWAY_CLIENT_SECRET="${GATEWAY_CLIENT_SECRET:-$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')}"
"$BIN/python" manage.py create_gateway_client
if [ "${SEED_DEMO:-true}" = "true" ]; then
  echo "==> Demo network (skip with SEED_DEMO=false)"
  "$BIN/python" manage.py seed_demo
fi
cd "$ROOT"

echo
echo "API gateway:        http://localhost:$GATEWAY_PORT/   (use this one: every client-facing path, rate limits)"
echo "SocialNet API:      http://localhost:$DJANGO_PORT/"
echo "API docs (Swagger): http://localhost:$GATEWAY_PORT/api/docs/"
echo "Health:             http://localhost:$GATEWAY_PORT/readyz (gateway), http://localhost:$GATEWAY_PORT/health/ (Django)"
echo "Demo OAuth client:  ${DEMO_CLIENT_ID:-socialnet-demo} (public, PKCE; redirect http://127.0.0.1:8765/callback or Swagger UI)"
if [ "${SEED_DEMO:-true}" = "true" ]; then
  echo "Demo logins:        alice (premium), bob, carol (moderator); password socialnet-demo-2026"
fi
echo "Stop with Ctrl-C."
echo

if [ -n "${REDIS_URL:-}" ]; then
  echo "==> Full mode (REDIS_URL set): web, workers and beat from the Procfile"
  exec "$BIN/honcho" -f Procfile start
else
  echo "==> Embedded mode: SQLite (unless DATABASE_URL is set), tasks run in-process"
  # One gateway worker: without Redis, rate limits are counted per process.
  (cd api_gateway && GATEWAY_WORKERS="${GATEWAY_WORKERS:-1}" exec "$BIN/gunicorn" wsgi:app -c gunicorn.conf.py) &
  GATEWAY_PID=$!
  trap 'kill "$GATEWAY_PID" 2>/dev/null || true' EXIT
  cd api/socialnet
  # The dev server only on loopback: clients come through the gateway.
  "$BIN/python" manage.py runserver "127.0.0.1:$DJANGO_PORT"
fi
