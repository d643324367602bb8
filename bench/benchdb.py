"""What the benchmarks that seed their own database share: progress lines, the environment their Django runs with,
and a fresh, migrated database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

API_DIR = Path(__file__).resolve().parent.parent / "api" / "socialnet"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def server_env(args, **extra: str) -> dict:
    """Full mode on the benchmark's own database and Redis (`args.pg`, `args.db_name`, `args.redis_url`): debug off,
    timelines on that Redis, throttles that count on every request (their cost is measured) but never answer 429."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{args.pg}/{args.db_name}",
        REDIS_URL=args.redis_url,
        FEED_REDIS_URL="",
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdef",
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        THROTTLE_USER="100000000/min",
        THROTTLE_ANON="100000000/min",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def recreate_database(*, pg: str, db_name: str, env: dict, api_dir: Path = API_DIR) -> None:
    """Drop and create `db_name` on the server at `pg`, then migrate it with `env` (never the project's database)
    by the manage.py in `api_dir` (this checkout's, or an older commit's for feed_http.py --compare-ref)."""
    import psycopg

    if db_name in {"socialnet", "postgres", "template0", "template1"}:
        sys.exit(f"refusing to recreate database {db_name!r}")
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    log(f"database {db_name} created; migrating")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=api_dir,
        env=env,
        check=True,
        timeout=600,
    )
