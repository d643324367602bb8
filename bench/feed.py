#!/usr/bin/env python3
"""Home-feed benchmark: seed a realistic follow graph, then measure feed reads and fan-out on a real server.

    .venv/bin/python bench/feed.py                       # 10 000 users, 200 000 follows, 100 000 posts
    .venv/bin/python bench/feed.py --users 2000 --follows 40000 --posts 20000 --duration 5   # a quick run

What it does, all against 127.0.0.1 only and bounded in time:
1. (re)creates a separate PostgreSQL database (--db-name, never the project's own), migrates it, and seeds it with
   COPY: users (10% of them inactive), follows with a skewed popularity (a few accounts followed by many), posts
   spread over the last week, plus one "star" followed by every user (the fan-out subject);
2. starts gunicorn (gthread, like the Procfile) on --port, warms the sampled users' timelines, then reads
   `GET /feed/?page_size=20` from concurrent keep-alive clients: p50/p99 latency and requests/s;
3. times the fan-out of one post by the star: in-process (the work one task does, sequentially) and end to end
   through a real Celery worker on the `follows` queue (from the 201 of POST /posts/ to the fan-out's "done"
   marker, then checks the post is in every active follower's timeline);
4. gives every sampled reader 100 blocks, 100 mutes and 20 keyword filters (apps.safety) and reads again, so the
   cost of the safety rules shows side by side with the run without them (the target: within 15 %);
5. restarts gunicorn with the timeline store pointed at a dead port (FEED_REDIS_URL) and reads again: the
   database fallback path.

With `--feed-redis cluster` it also starts a local 3-master Redis Cluster (apps/common/testing/servers.py, free
loopback ports) and repeats steps 2 and 3 with the timelines there (FEED_REDIS_CLUSTER), so the single Redis and
the cluster are compared in one run, on the same data and the same machine load:

    .venv/bin/python bench/feed.py --feed-redis cluster --users 11200 --skip-safety   # 10 000 active followers
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchdb
from benchdb import log, recreate_database

ROOT = Path(__file__).resolve().parent.parent
API_DIR = ROOT / "api" / "socialnet"
BIN = Path(sys.executable).parent
DEAD_REDIS = "redis://127.0.0.1:1/0"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--follows", type=int, default=200_000, help="random follows (the star's come on top)")
    p.add_argument("--posts", type=int, default=100_000)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL, without database")
    p.add_argument("--db-name", default="socialnet_bench")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    p.add_argument("--port", type=int, default=8189)
    p.add_argument("--gunicorn-workers", type=int, default=2)
    p.add_argument("--gunicorn-threads", type=int, default=4)
    p.add_argument("--sample-users", type=int, default=300, help="distinct readers")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per load phase")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--skip-seed", action="store_true", help="reuse the database seeded by an earlier run")
    p.add_argument("--skip-safety", action="store_true", help="no run with blocks, mutes and filters")
    p.add_argument(
        "--feed-redis",
        choices=["single", "cluster"],
        default="single",
        help="cluster: measure reads and fan-out on a single Redis and then on a local 3-node Redis Cluster",
    )
    return p.parse_args()


# --- environment --------------------------------------------------------------------------------------------------
def server_env(args, **extra) -> dict:
    # The star is the fan-out subject: never a celebrity merged at read time, however many users are seeded.
    return benchdb.server_env(args, DATABASE_POOL_MAX_SIZE="8", FEED_CELEBRITY_THRESHOLD=str(10 * args.users), **extra)


def setup_django(args) -> None:
    os.environ.update(server_env(args))
    sys.path.insert(0, str(API_DIR))
    import django

    django.setup()


# --- seeding ------------------------------------------------------------------------------------------------------
def copy_rows(cursor, sql: str, rows, total: int, label: str) -> None:
    step = max(total // 10, 1)
    with cursor.copy(sql) as copy:
        for i, row in enumerate(rows, 1):
            copy.write_row(row)
            if i % step == 0:
                log(f"  {label}: {i:,}/{total:,}")


def seed(args) -> None:
    from django.db import connection

    rng = random.Random(42)
    now = datetime.now(UTC)
    n = args.users + 1  # + the star
    started = time.monotonic()
    with connection.cursor() as c:
        raw = c.cursor
        log(f"seeding {n:,} users")
        inactive_cut = int(args.users * 0.1)

        def users():
            for i in range(n):
                # user 0 is the star; the last 10% have not been seen for two months (fan-out skips them).
                inactive = i > n - 1 - inactive_cut
                seen = now - timedelta(days=60) if inactive else now - timedelta(hours=rng.random() * 72)
                name = "star" if i == 0 else f"bench{i}"
                yield (
                    "!",  # unusable password: tokens are issued directly
                    seen,
                    False,
                    name,
                    "",
                    "",
                    False,
                    True,
                    now - timedelta(days=90),
                    f"{name}@bench.invalid",
                    "user",
                    "",
                    0,
                    0,
                    0,
                    True,
                    "",
                )

        copy_rows(
            raw,
            "COPY users_user (password, last_login, is_superuser, username, first_name, last_name, is_staff, "
            "is_active, date_joined, email, role, bio, followers_count, following_count, posts_count, email_verified, "
            "pending_email) FROM STDIN",
            users(),
            n,
            "users",
        )
        c.execute("SELECT id FROM users_user ORDER BY id")
        ids = [r[0] for r in c.fetchall()]
        star, others = ids[0], ids[1:]

        log(f"seeding {args.follows:,} follows (skewed popularity) + {len(others):,} follows of the star")
        weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(others))]
        popular = others[:]
        rng.shuffle(popular)
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < args.follows:
            batch = rng.choices(popular, weights=weights, k=args.follows - len(pairs))
            for followee in batch:
                follower = rng.choice(others)
                if follower != followee:
                    pairs.add((follower, followee))
        pairs.update((u, star) for u in others)
        created = now - timedelta(days=30)
        copy_rows(
            raw,
            "COPY follows_follow (follower_id, followee_id, created_at) FROM STDIN",
            ((a, b, created) for a, b in pairs),
            len(pairs),
            "follows",
        )

        log(f"seeding {args.posts:,} posts over the last 7 days")
        span = 7 * 86400
        times = sorted(now - timedelta(seconds=rng.random() * span) for _ in range(args.posts))
        visibilities = ["public"] * 8 + ["followers", "premium"]

        def posts():
            for t in times:
                author = star if rng.random() < 0.0005 else rng.choice(popular[:2000] + others)
                yield (author, f"bench post at {t:%H:%M:%S}", rng.choice(visibilities), 0, 0, 0, t, t)

        copy_rows(
            raw,
            "COPY posts_post (author_id, text, visibility, likes_count, comments_count, views_count, created_at, "
            "updated_at) FROM STDIN",
            posts(),
            args.posts,
            "posts",
        )
        log("counters and statistics")
        c.execute(
            "UPDATE users_user u SET followers_count = s.n FROM "
            "(SELECT followee_id AS id, count(*) AS n FROM follows_follow GROUP BY 1) s WHERE u.id = s.id"
        )
        c.execute(
            "UPDATE users_user u SET following_count = s.n FROM "
            "(SELECT follower_id AS id, count(*) AS n FROM follows_follow GROUP BY 1) s WHERE u.id = s.id"
        )
        c.execute(
            "UPDATE users_user u SET posts_count = s.n FROM "
            "(SELECT author_id AS id, count(*) AS n FROM posts_post GROUP BY 1) s WHERE u.id = s.id"
        )
        c.execute("ANALYZE")
    log(f"seeded in {time.monotonic() - started:.1f}s")


def seed_safety(reader_ids: list[int], *, blocks: int = 100, mutes: int = 100, filters: int = 20) -> None:
    """Each reader blocks `blocks` accounts and mutes `mutes` others (some of them among the authors they follow, so
    the rules have posts to remove), and keeps `filters` keyword filters, half whole-word, in every context.
    Idempotent: a second run replaces the rows. The cached sets are dropped so the first reads rebuild them."""
    from apps.common.redis import redis_client
    from apps.follows.models import Follow
    from apps.safety.models import Block, KeywordFilter, Mute
    from apps.safety.services import _filter_pattern
    from apps.users.models import User

    rng = random.Random(7)
    everyone = list(User.objects.exclude(username="star").values_list("pk", flat=True))
    Block.objects.filter(blocker_id__in=reader_ids).delete()
    Mute.objects.filter(muter_id__in=reader_ids).delete()
    KeywordFilter.objects.filter(owner_id__in=reader_ids).delete()
    block_rows, mute_rows, filter_rows = [], [], []
    for reader in reader_ids:
        followed = list(Follow.objects.filter(follower_id=reader).values_list("followee_id", flat=True)[:10])
        pool = [pk for pk in rng.sample(everyone, blocks + mutes + 20) if pk != reader and pk not in followed]
        # Muting some followees leaves the follow graph (and the timelines) as they are, so the home feed has posts
        # to drop; blocks are of strangers (a block would remove the follow and change what is measured).
        muted = followed[: len(followed) // 2] + pool[blocks : blocks + mutes - len(followed) // 2]
        block_rows += [Block(blocker_id=reader, blocked_id=pk) for pk in pool[:blocks]]
        mute_rows += [Mute(muter_id=reader, muted_id=pk) for pk in muted]
        for i in range(filters):
            phrase, whole = f"filtered phrase {i}", bool(i % 2)
            filter_rows.append(
                KeywordFilter(
                    owner_id=reader,
                    phrase=phrase,
                    whole_word=whole,
                    pattern=_filter_pattern(phrase, whole_word=whole),
                    in_home=True,
                    in_public=True,
                    in_thread=True,
                    in_notifications=True,
                )
            )
    Block.objects.bulk_create(block_rows, batch_size=5000, ignore_conflicts=True)
    Mute.objects.bulk_create(mute_rows, batch_size=5000, ignore_conflicts=True)
    KeywordFilter.objects.bulk_create(filter_rows, batch_size=5000)
    client = redis_client()
    for reader in reader_ids:
        client.delete(f"safety:sets:{reader}")
    log(f"safety rows: {len(block_rows):,} blocks, {len(mute_rows):,} mutes, {len(filter_rows):,} filters")


def issue_tokens(args) -> tuple[list[str], str, int]:
    """Tokens for a sample of active readers, and one for the star."""
    from apps.feed.selectors import active_users_q
    from apps.users.models import User
    from apps.users.tests.oauth import issue_access_token

    readers = list(
        User.objects.filter(active_users_q(), following_count__gt=0)
        .exclude(username="star")
        .order_by("?")
        .values_list("pk", flat=True)[: args.sample_users]
    )
    users = User.objects.in_bulk(readers)
    tokens = [issue_access_token(users[pk], expires_in=3600) for pk in readers]
    args.reader_ids = readers
    star = User.objects.get(username="star")
    return tokens, issue_access_token(star, expires_in=3600), star.pk


# --- server and load ----------------------------------------------------------------------------------------------
class Server:
    """gunicorn serving the Django project in `api_dir` (this checkout's, or an old one's for feed_http.py)."""

    def __init__(self, args, *, api_dir: Path = API_DIR, **env):
        self.args = args
        self.proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{args.port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(args.gunicorn_workers),
                "--threads",
                str(args.gunicorn_threads),
                "--log-level",
                "warning",
            ],
            cwd=api_dir,
            env=server_env(args, **env),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(args.port, "GET", "/health/")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn in {api_dir} did not come up")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def request(port: int, method: str, path: str, token: str | None = None, body: dict | None = None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if own:
        conn.close()
    return response.status, payload


def load(args, tokens: list[str], concurrency: int, duration: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker(seed: int):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        mine, bad = [], 0
        while time.monotonic() < stop_at:
            token = rng.choice(tokens)
            t0 = time.perf_counter()
            try:
                status, _ = request(args.port, "GET", "/feed/?page_size=20", token, conn=conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                bad += 1
                continue
            elapsed = time.perf_counter() - t0
            if status != 200:
                bad += 1
            else:
                mine.append(elapsed)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 30)
    wall = time.monotonic() - started
    latencies.sort()
    if not latencies:
        return {"concurrency": concurrency, "requests": 0, "errors": errors[0]}
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors[0],
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "rps": len(latencies) / wall,
    }


def read_phases(args, tokens, label: str) -> list[dict]:
    results = []
    for c in args.concurrency:
        load_now = os.getloadavg()[0]
        log(f"{label}: GET /feed/?page_size=20, {c} concurrent clients, {args.duration:.0f}s, load {load_now:.1f}")
        r = load(args, tokens, c, args.duration)
        r["label"] = label
        log(
            f"  {r['requests']} requests, {r['errors']} errors, p50 {r.get('p50_ms', 0):.1f} ms, "
            f"p99 {r.get('p99_ms', 0):.1f} ms, {r.get('rps', 0):.0f} req/s"
        )
        results.append(r)
    return results


# --- fan-out ------------------------------------------------------------------------------------------------------
def fanout_in_process(star_id: int, runs: int = 3) -> tuple[float, int]:
    """The median of `runs` fan-outs of a new post by the star, each as one task would do it (sequential batches)."""
    from apps.feed import services
    from apps.posts.models import Post

    timings = []
    for _ in range(runs):
        post = Post.objects.create(author_id=star_id, text="in-process fan-out probe")
        t0 = time.perf_counter()
        batches = services.fanout_post(post_id=post.pk)
        for batch in batches:
            services.fanout_post_batch(post_id=post.pk, user_ids=batch)
        timings.append(time.perf_counter() - t0)
    return statistics.median(timings), sum(len(b) for b in batches)


def fanout_through_worker(args, star_token: str, star_id: int, store_env: dict) -> tuple[float, int]:
    from apps.feed import selectors
    from apps.feed.timeline import fanout_done, timeline_client, timeline_key
    from config.celery import app

    recipients = selectors.fanout_recipients(author_id=star_id)
    app.control.purge()
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "follows",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=API_DIR,
        env=server_env(args, **store_env),
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=1.0):  # measure fan-out, not the worker's boot
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError("the Celery worker did not come up")
        client = timeline_client()
        timings = []
        for attempt in range(3):
            status, payload = request(args.port, "POST", "/posts/", star_token, body={"text": f"probe {attempt}"})
            t0 = time.perf_counter()
            if status != 201:
                raise RuntimeError(f"POST /posts/ answered {status}: {payload[:200]!r}")
            post_id = json.loads(payload)["id"]
            # Timed until the fan-out's own "done" marker appears (written once the last batch is in): one EXISTS
            # per poll. Polling every timeline instead would time the poll too, and a cluster pipeline of 10 000
            # reads costs far more Python than a single Redis one, which would charge the cluster for the probe.
            deadline = time.monotonic() + 30
            while not fanout_done(client=client, post_ids=[post_id])[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError("fan-out not done after 30 s")
                time.sleep(0.01)
            timings.append(time.perf_counter() - t0)
            pipe = client.pipeline(transaction=False)
            for uid in recipients:
                pipe.zscore(timeline_key(uid), str(post_id))
            missing = sum(score is None for score in pipe.execute())
            if missing:
                raise RuntimeError(f"fan-out marked done but {missing} followers lack the post")
            log(f"  worker fan-out probe {attempt + 1}: {timings[-1] * 1000:.0f} ms")
        return statistics.median(timings), len(recipients)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def measure_store(args, tokens, star_token, star_id, store: str, store_env: dict) -> list[dict]:
    """Reads, fan-out (and, on the single Redis, the safety rules' cost) with the timelines in one store."""
    from django.test.utils import override_settings

    summary = []
    settings = {"FEED_REDIS_URL": store_env.get("FEED_REDIS_URL", ""), "FEED_REDIS_CLUSTER": bool(store_env)}
    server = Server(args, **store_env)
    try:
        with override_settings(**settings):  # this process's fan-out and probes write where the server reads
            log(f"warming timelines in {store} (first read of each sampled user rebuilds it from PostgreSQL)")
            t0 = time.perf_counter()
            for token in tokens:
                request(args.port, "GET", "/feed/?page_size=20", token)
            log(f"  {len(tokens)} cold reads in {time.perf_counter() - t0:.1f}s")
            summary += read_phases(args, tokens, f"timelines in {store}")
            took, n = fanout_in_process(star_id)
            log(f"fan-out in process, {store} (sequential batches, median of 3): {n:,} in {took * 1000:.0f} ms")
            summary.append({"label": f"fan-out in process, {store}", "followers": n, "ms": took * 1000})
            took, n = fanout_through_worker(args, star_token, star_id, store_env)
            log(f"fan-out via a Celery worker, {store} (POST /posts/ -> every timeline): {n:,} in {took * 1000:.0f} ms")
            summary.append({"label": f"fan-out via worker, {store} (median of 3)", "followers": n, "ms": took * 1000})
            if store_env or args.skip_safety:
                return summary
            from apps.safety.selectors import safety_sets_rebuild

            seed_safety(args.reader_ids)
            # Cached sets, as after a reader's first page (the rebuild task is not running here: do its work).
            for reader in args.reader_ids:
                safety_sets_rebuild(user_id=reader)
            summary += read_phases(args, tokens, "100 blocks, 100 mutes, 20 filters")
    finally:
        server.stop()
    return summary


def main() -> None:
    args = parse_args()
    if not args.skip_seed:
        recreate_database(pg=args.pg, db_name=args.db_name, env=server_env(args))
    setup_django(args)
    if not args.skip_seed:
        seed(args)
    from apps.common.redis import redis_client

    redis_client().flushdb()  # timelines of an earlier run would make the first reads look warm
    tokens, star_token, star_id = issue_tokens(args)
    log(f"{len(tokens)} readers with tokens")

    summary: list[dict] = []
    stores = [("Redis", {})]
    cluster = None
    if args.feed_redis == "cluster":
        from apps.common.testing.servers import RedisClusterServers

        cluster = RedisClusterServers().start()
        log(f"Redis Cluster of {len(cluster.nodes)} masters on ports {', '.join(str(n.port) for n in cluster.nodes)}")
        stores.append(("Redis Cluster", {"FEED_REDIS_URL": cluster.url, "FEED_REDIS_CLUSTER": "true"}))
    try:
        for store, store_env in stores:
            summary += measure_store(args, tokens, star_token, star_id, store, store_env)
    finally:
        if cluster is not None:
            cluster.close()

    server = Server(args, FEED_REDIS_URL=DEAD_REDIS)
    try:
        summary += read_phases(args, tokens, "timeline Redis down (database fallback)")
    finally:
        server.stop()

    print(
        "\n== results ==  (load average now: {:.1f} {:.1f} {:.1f} on {} CPUs; figures from a shared machine "
        "move with it)".format(*os.getloadavg(), os.cpu_count())
    )
    for row in summary:
        if "rps" in row:
            print(
                f"{row['label']:<42} c={row['concurrency']:<3} p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms"
                f"  {row['rps']:7.0f} req/s  ({row['requests']} requests, {row['errors']} errors)"
            )
        elif "ms" in row:
            print(f"{row['label']:<42} {row['followers']:,} active followers in {row['ms']:.0f} ms")
        else:
            print(f"{row['label']:<42} no successful request ({row['errors']} errors)")
    fanout = {r["label"]: r["ms"] for r in summary if "ms" in r}
    for way in ("fan-out in process, {}", "fan-out via worker, {} (median of 3)"):
        single, spread = fanout.get(way.format("Redis")), fanout.get(way.format("Redis Cluster"))
        if single and spread:
            print(f"cluster / single Redis, {way.format('').replace(', ', ' ').strip()}: {spread / single:.2f}x")
    plain = {r["concurrency"]: r for r in summary if r["label"] == "timelines in Redis" and "rps" in r}
    safe = {r["concurrency"]: r for r in summary if r["label"].startswith("100 blocks") and "rps" in r}
    for c in sorted(set(plain) & set(safe)):
        p, s = plain[c], safe[c]
        print(
            f"safety cost c={c:<3} p50 {100 * (s['p50_ms'] / p['p50_ms'] - 1):+5.1f} %  "
            f"p99 {100 * (s['p99_ms'] / p['p99_ms'] - 1):+5.1f} %  req/s {100 * (s['rps'] / p['rps'] - 1):+5.1f} %"
        )


if __name__ == "__main__":
    main()
