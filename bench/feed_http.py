#!/usr/bin/env python3
"""Home-feed throughput, this checkout against an older commit, over HTTP, on the same machine in the same run.

    .venv/bin/python bench/feed_http.py --compare-ref main            # the old code at `main` vs this checkout
    .venv/bin/python bench/feed_http.py --compare-ref 2501ae5 --skip-seed --duration 8 --rounds 3

What it does, against 127.0.0.1 only and bounded in time:
1. (re)creates a separate PostgreSQL database (--db-name, never the project's own) and seeds it with bench/feed.py's
   seeder (users, a skewed follow graph, posts over a week, one star followed by everyone); tokens for a sample of
   readers are written to it directly;
2. checks `--compare-ref` out into a temporary git worktree (removed at the end) and, in turn, runs the old and
   this checkout's Django under gunicorn (gthread, like the Procfile; full mode: the same PostgreSQL database and
   Redis, DEBUG off), never both at once. Each side's timelines are warmed by one read per reader, then
   `GET /feed/?page_size=20` is driven by N concurrent keep-alive clients for --duration seconds, for each N of
   --concurrency. Sides alternate for --rounds rounds, so both see the same drift in the machine's load; a side's
   figure is its best round;
3. prints req/s, p50 and p99 per side and concurrency, the new/old req/s ratio and the load average of each phase,
   then the fan-out of one post of the star to every active follower, in process, with this checkout's code;
4. last line: `feed_rps_ratio_16=<R>` (new/old req/s at 16 clients, or at the highest concurrency run).

The old code must run on this checkout's schema: a ref whose migrations differ is refused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchdb import API_DIR, log, recreate_database
from feed import Server, fanout_in_process, issue_tokens, load, request, seed, server_env, setup_django

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MIGRATIONS_GLOB = "api/socialnet/apps/*/migrations/*.py"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--compare-ref", help="git ref of the old code (without it only this checkout is measured)")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--follows", type=int, default=200_000, help="random follows (the star's come on top)")
    p.add_argument("--posts", type=int, default=100_000)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL, without database")
    p.add_argument("--db-name", default="socialnet_bench_feed_http")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
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
    """A detached worktree of `ref` at `into`; its Django directory. Refused when its migrations differ from this
    checkout's (the old code would run on a schema it does not know)."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    _git("worktree", "add", "--detach", str(into), commit)
    log(f"old code: {ref} ({commit[:10]}) in {into}")
    theirs = {p.relative_to(into) for p in into.glob(MIGRATIONS_GLOB)}
    ours = {p.relative_to(ROOT) for p in ROOT.glob(MIGRATIONS_GLOB)}
    if theirs != ours:
        raise SystemExit(f"{ref} has other migrations than this checkout: {sorted(map(str, theirs ^ ours))[:5]}")
    return into / "api" / "socialnet"


def remove_worktree(path: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


# --- servers and phases -------------------------------------------------------------------------------------------
def measure_side(args, label: str, api_dir: Path, tokens: list[str]) -> list[dict]:
    server = Server(args, api_dir=api_dir)
    try:
        for token in tokens:  # every reader's timeline complete and its caches filled, as in steady state
            status, body = request(args.port, "GET", "/feed/?page_size=20", token)
            if status != 200:
                raise RuntimeError(f"{label}: GET /feed/ answered {status}: {body[:200]!r}")
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


def main() -> None:
    args = parse_args()
    if not args.skip_seed:
        recreate_database(pg=args.pg, db_name=args.db_name, env=server_env(args))
    setup_django(args)
    if not args.skip_seed:
        seed(args)
    from apps.common.redis import redis_client

    redis_client().flushdb()  # nothing from an earlier run: both sides start from the same cold Redis
    tokens, _, star_id = issue_tokens(args)
    log(f"{len(tokens)} readers with tokens")

    sides = [("new", API_DIR)]
    old_tree = None
    if args.compare_ref:
        old_tree = Path(tempfile.mkdtemp(prefix="feed_http_ref_")) / "tree"
        sides.insert(0, ("old", checkout_ref(args.compare_ref, old_tree)))
    runs: dict[str, list[list[dict]]] = {label: [] for label, _ in sides}
    try:
        for n in range(1, args.rounds + 1):
            for label, api_dir in sides:
                log(f"round {n}/{args.rounds}: {label} code, GET /feed/?page_size=20, {args.duration:.0f}s per phase")
                runs[label].append(measure_side(args, label, api_dir, tokens))
    finally:
        if old_tree is not None:
            remove_worktree(old_tree)

    took, followers = fanout_in_process(star_id)

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
