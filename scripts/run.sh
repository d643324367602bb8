#!/usr/bin/env bash
# `make run`: prepare the database and start SocialNet.
#   embedded (default): SQLite, tasks in-process, Django's dev server on :8000.
#   full (REDIS_URL set): gunicorn + one Celery worker per queue + beat, from the Procfile, via honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN="$ROOT/.venv/bin"
export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
export PYTHONUNBUFFERED=1

cd api/socialnet
echo "==> Applying migrations"
"$BIN/python" manage.py migrate --noinput
echo "==> Collecting static files"
"$BIN/python" manage.py collectstatic --noinput -v0
echo "==> OAuth clients"
"$BIN/python" manage.py create_demo_client
if [ -n "${GATEWAY_CLIENT_SECRET:-}" ]; then "$BIN/python" manage.py create_gateway_client; fi
cd "$ROOT"

echo
echo "SocialNet API:      http://localhost:8000/"
echo "API docs (Swagger): http://localhost:8000/api/docs/"
echo "Health:             http://localhost:8000/health/"
echo "Stop with Ctrl-C."
echo

if [ -n "${REDIS_URL:-}" ]; then
  echo "==> Full mode (REDIS_URL set): web, workers and beat from the Procfile"
  exec "$BIN/honcho" -f Procfile start
else
  echo "==> Embedded mode: SQLite (unless DATABASE_URL is set), tasks run in-process"
  cd api/socialnet
  exec "$BIN/python" manage.py runserver 0.0.0.0:8000
fi
