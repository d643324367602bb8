"""What the benchmarks that seed their own database share: progress lines, and a fresh, migrated database."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

API_DIR = Path(__file__).resolve().parent.parent / "api" / "socialnet"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def recreate_database(*, pg: str, db_name: str, env: dict) -> None:
    """Drop and create `db_name` on the server at `pg`, then migrate it with `env` (never the project's database)."""
    import psycopg

    if db_name in {"socialnet", "postgres", "template0", "template1"}:
        sys.exit(f"refusing to recreate database {db_name!r}")
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    log(f"database {db_name} created; migrating")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=API_DIR,
        env=env,
        check=True,
        timeout=600,
    )
