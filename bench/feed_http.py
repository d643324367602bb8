#!/usr/bin/env python3
"""Home-feed throughput, this checkout against an older commit, over HTTP, on the same machine in the same run.

    .venv/bin/python bench/feed_http.py --compare-ref 2501ae5 --db-name socialnet_bench_fhttp
    .venv/bin/python bench/feed_http.py --compare-ref main --skip-seed --duration 8 --rounds 3

What it does, against 127.0.0.1 only and bounded in time:
1. checks `--compare-ref` out into a temporary git worktree (removed at the end);
2. (re)creates two PostgreSQL databases (never the project's own): --db-name, migrated by this checkout's
   manage.py and seeded with bench/feed.py's seeder (users, a skewed follow graph, posts over a week, one star
   followed by everyone), and `<db-name>_old`, migrated by the old worktree's manage.py. Each side thus runs on the
   schema its own migrations build (the two may differ: tables or columns added since). Tokens for a sample of
   readers are written to the new database, then every row of it is copied into the old one (see
   `copy_shared_rows`: the columns both schemas have, foreign keys checked by the rows' origin, sequences moved
   past the copied ids), so both sides serve identical data; both are then vacuumed and analysed alike. A schema
   change copying cannot bridge (a column of the old schema that is required and has no counterpart, a column
   whose type changed) stops the run and says which;
3. in turn, runs the old and this checkout's Django under gunicorn (gthread, like the Procfile; full mode, DEBUG
   off), each on its own database and its own Redis database (--redis-url, --old-redis-url), never both at once.
   Each side's timelines are warmed by one read per reader, then `GET /feed/?page_size=20` is driven by N
   concurrent keep-alive clients for --duration seconds, for each N of --concurrency. Sides alternate for
   --rounds rounds, so both see the same drift in the machine's load; a side's figure is its best round;
4. prints req/s, p50 and p99 per side and concurrency, the new/old req/s ratio and the load average of each phase,
   then the fan-out of one post of the star to every active follower, in process, with this checkout's code;
5. last line: `feed_rps_ratio_16=<R>` (new/old req/s at 16 clients, or at the highest concurrency run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from benchdb import API_DIR, log, recreate_database
from feed import Server, fanout_in_process, issue_tokens, load, request, seed, server_env, setup_django
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OLD_DB_SUFFIX = "_old"
# Filled by `migrate` itself, in each database: copying them would clash with what is there (and content type ids
# follow the models each side has, so they may differ).
MIGRATION_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--compare-ref", help="git ref of the old code (without it only this checkout is measured)")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--follows", type=int, default=200_000, help="random follows (the star's come on top)")
    p.add_argument("--posts", type=int, default=100_000)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL, without database")
    p.add_argument("--db-name", default="socialnet_bench_feed_http")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    p.add_argument("--old-redis-url", help="the old side's Redis (default: --redis-url's next database number)")
    p.add_argument("--port", type=int, default=8191)
    p.add_argument("--gunicorn-workers", type=int, default=2)
    p.add_argument("--gunicorn-threads", type=int, default=4)
    p.add_argument("--sample-users", type=int, default=300, help="distinct readers")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per load phase")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    p.add_argument("--rounds", type=int, default=2, help="old/new alternations; each side keeps its best round")
    p.add_argument("--skip-seed", action="store_true", help="reuse the database seeded by an earlier run")
    return p.parse_args()


# --- the old code -------------------------------------------------------------------------------------------------
def _git(*argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def checkout_ref(ref: str, into: Path) -> Path:
    """A detached worktree of `ref` at `into`; its Django directory."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    _git("worktree", "add", "--detach", str(into), commit)
    log(f"old code: {ref} ({commit[:10]}) in {into}")
    return into / "api" / "socialnet"


def remove_worktree(path: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def next_redis_db(url: str) -> str:
    """The same Redis server, the next database number (redis://host:port/13 -> redis://host:port/14)."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + 1
    return urlunsplit(parts._replace(path=f"/{number}"))


# --- the old side's database --------------------------------------------------------------------------------------
def _columns(conn) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    """table -> column -> (type, whether a row may leave it out: nullable, a default or an identity, whether
    PostgreSQL computes it: a generated column, which COPY may not write)."""
    rows = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES' OR column_default IS NOT NULL "
        "OR is_identity = 'YES' OR is_generated = 'ALWAYS', is_generated = 'ALWAYS' "
        "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, dict[str, tuple[str, bool, bool]]] = {}
    for table, column, kind, optional, generated in rows:
        tables.setdefault(table, {})[column] = (kind, optional, generated)
    return tables


def _has_rows(conn, table: str) -> bool:
    return conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))).fetchone()[0]


def copy_plan(src, dst) -> list[tuple[str, list[str]]]:
    """(table, columns) to copy from the new database to the old one: every table with rows, the columns both
    schemas have. Stops the run when the old schema could not take the rows as they are."""
    ours, theirs = _columns(src), _columns(dst)
    plan, problems = [], []
    for table, columns in ours.items():
        if table in MIGRATION_TABLES or not _has_rows(src, table):
            continue
        if table not in theirs:
            log(f"  {table}: not in the old schema, not copied (the old code never reads it)")
            continue
        shared = [c for c in columns if c in theirs[table] and not theirs[table][c][2]]
        problems += [
            f"{table}.{c} is {theirs[table][c][0]} there, {columns[c][0]} here"
            for c in shared
            if theirs[table][c][0] != columns[c][0]
        ]
        problems += [
            f"{table}.{c} is required there and unknown here"
            for c, (_, optional, _) in theirs[table].items()
            if c not in columns and not optional
        ]
        plan.append((table, shared))
    if problems:
        raise SystemExit("the old schema cannot take this checkout's rows: " + "; ".join(problems))
    return plan


def copy_shared_rows(pg: str, src_db: str, dst_db: str) -> None:
    """Make `dst_db` (migrated by the old code) hold the rows of `src_db` (seeded by this checkout): every table
    but the migrations' own is emptied, then filled by COPY, column by column for the columns both have."""
    started = time.monotonic()
    with psycopg.connect(f"{pg}/{src_db}") as src, psycopg.connect(f"{pg}/{dst_db}") as dst:
        plan = copy_plan(src, dst)
        emptied = [t for t in _columns(dst) if t not in MIGRATION_TABLES]
        # Off for this transaction only (needs a superuser, as the benchmark's PostgreSQL is): foreign keys are not
        # checked, so tables load in any order. The rows satisfied them in the database they come from.
        dst.execute("SET LOCAL session_replication_role = replica")
        dst.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, emptied))))
        for table, columns in plan:
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            out = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(names, sql.Identifier(table))
            into = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), names)
            with src.cursor().copy(out) as reader, dst.cursor().copy(into) as writer:
                for chunk in reader:
                    writer.write(chunk)
            for column in columns:  # an id the old code inserts next must not collide with a copied one
                seq = dst.execute("SELECT pg_get_serial_sequence(%s, %s)", (table, column)).fetchone()[0]
                if seq:
                    dst.execute(
                        sql.SQL("SELECT setval(%s, COALESCE((SELECT max({}) FROM {}), 0) + 1, false)").format(
                            sql.Identifier(column), sql.Identifier(table)
                        ),
                        (seq,),
                    )
        dst.commit()
    log(f"{len(plan)} tables copied to {dst_db} in {time.monotonic() - started:.1f}s: {', '.join(t for t, _ in plan)}")


def vacuum_analyze(pg: str, db_name: str) -> None:
    """Statistics, hint bits and the visibility map of freshly written rows, so that neither side pays for them
    in its first round nor lacks index-only scans the other has."""
    with psycopg.connect(f"{pg}/{db_name}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def database_exists(pg: str, db_name: str) -> bool:
    with psycopg.connect(f"{pg}/postgres") as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone() is not None


# --- servers and phases -------------------------------------------------------------------------------------------
def measure_side(args, label: str, api_dir: Path, env: dict, tokens: list[str]) -> list[dict]:
    server = Server(args, api_dir=api_dir, **env)
    try:
        for token in tokens:  # every reader's timeline complete and its caches filled, as in steady state
            status, body = request(args.port, "GET", "/feed/?page_size=20", token)
            if status != 200:
                raise RuntimeError(f"{label}: GET /feed/ answered {status}: {body[:200]!r}")
            if token == tokens[0]:
                args.first_pages[label] = [item["id"] for item in json.loads(body)["results"]]
        results = []
        for c in args.concurrency:
            load_before = os.getloadavg()[0]
            r = load(args, tokens, c, args.duration)
            r.update(label=label, load=(load_before + os.getloadavg()[0]) / 2)
            log(
                f"  {label:<4} c={c:<3} {r.get('rps', 0):6.1f} req/s  p50 {r.get('p50_ms', 0):6.1f} ms  "
                f"p99 {r.get('p99_ms', 0):6.1f} ms  ({r['requests']} requests, {r['errors']} errors, "
                f"load {r['load']:.1f})"
            )
            results.append(r)
        return results
    finally:
        server.stop()


def best(rounds: list[list[dict]], concurrency: int) -> dict:
    rows = [r for side in rounds for r in side if r["concurrency"] == concurrency and r.get("rps")]
    return max(rows, key=lambda r: r["rps"]) if rows else {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "load": 0.0}


def measure(args, old_tree: Path | None) -> dict[str, list[list[dict]]]:
    """Both databases and Redis databases ready, then the rounds; each side's results, one list per round."""
    sides = [("new", API_DIR, {"DATABASE_URL": f"{args.pg}/{args.db_name}", "REDIS_URL": args.redis_url})]
    if old_tree is not None:
        old_db, old_redis = args.db_name + OLD_DB_SUFFIX, args.old_redis_url or next_redis_db(args.redis_url)
        if old_redis == args.redis_url:
            raise SystemExit("--old-redis-url must differ from --redis-url: each side warms its own timelines")
        env = {"DATABASE_URL": f"{args.pg}/{old_db}", "REDIS_URL": old_redis}
        sides.insert(0, ("old", checkout_ref(args.compare_ref, old_tree), env))
    if not args.skip_seed:
        recreate_database(pg=args.pg, db_name=args.db_name, env=server_env(args))
    setup_django(args)
    if not args.skip_seed:
        seed(args)
    tokens, _, args.star_id = issue_tokens(args)
    args.first_pages = {}
    log(f"{len(tokens)} readers with tokens")
    for label, api_dir, env in sides:
        if label == "old":
            if not args.skip_seed or not database_exists(args.pg, old_db):
                recreate_database(pg=args.pg, db_name=old_db, env=server_env(args, **env), api_dir=api_dir)
            copy_shared_rows(args.pg, args.db_name, old_db)  # every run: the tokens just issued included
        vacuum_analyze(args.pg, env["DATABASE_URL"].rsplit("/", 1)[1])
        # Nothing from an earlier run: both sides start from a cold Redis of their own.
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()

    runs: dict[str, list[list[dict]]] = {label: [] for label, _, _ in sides}
    for n in range(1, args.rounds + 1):
        for label, api_dir, env in sides:
            log(f"round {n}/{args.rounds}: {label} code, GET /feed/?page_size=20, {args.duration:.0f}s per phase")
            runs[label].append(measure_side(args, label, api_dir, env, tokens))
    return runs


def main() -> None:
    args = parse_args()
    old_tree = None
    if args.compare_ref:
        old_tree = Path(tempfile.mkdtemp(prefix="feed_http_ref_")) / "tree"
    try:
        runs = measure(args, old_tree)
    finally:
        if old_tree is not None:
            remove_worktree(old_tree)

    took, followers = fanout_in_process(args.star_id)

    pages = list(args.first_pages.values())
    if any(page != pages[0] for page in pages):  # the same data must give the same page, or the sides differ
        log(f"WARNING: the sides' first pages for one reader differ: {args.first_pages}")

    load_now = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n== home feed over HTTP, best of {args.rounds} rounds per side (load average now: {load_now}) ==")
    ratios = {}
    for c in args.concurrency:
        row = {label: best(runs[label], c) for label in runs}
        for label, r in row.items():
            print(
                f"{label:<4} c={c:<3} {r['rps']:7.1f} req/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms"
                f"  (load {r['load']:.1f})"
            )
        if "old" in row and row["old"]["rps"]:
            ratios[c] = row["new"]["rps"] / row["old"]["rps"]
            print(f"     c={c:<3} req/s new/old = {ratios[c]:.2f}")
    print(f"fan-out in process (this checkout): {followers:,} active followers in {took * 1000:.0f} ms")
    if ratios:
        key = 16 if 16 in ratios else max(ratios)
        print(f"feed_rps_ratio_{key}={ratios[key]:.2f}")


if __name__ == "__main__":
    main()
