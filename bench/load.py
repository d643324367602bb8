#!/usr/bin/env python3
"""Load through the gateway with a realistic mix, then reconcile what was acknowledged with what was stored.

    .venv/bin/python bench/load.py --start                      # its own stack: 50 clients for 60 s
    .venv/bin/python bench/load.py --start --clients 10 --seconds 10   # the short run of `make reliability`
    .venv/bin/python bench/load.py --url http://127.0.0.1:5000 --database-url postgres://.../socialnet
                                                                  # a stack already running (make run)

1. Accounts: --users users (each with a token, following --follows others, with a few posts), made with
   `manage.py shell` against the stack's database. With --start, a fresh database (--db-name, never the project's
   own) and the Procfile's processes under scripts/supervise.py on free ports, rate limits off.
2. --clients concurrent clients for --seconds, each as one user: home feed, post lists, a profile's followers,
   post detail, like/unlike, new posts, some with an image (uploaded first).
3. Prints requests/s, p50/p95/p99 per endpoint, errors by status, the load average before and after.
4. Reconciles: the posts and images answered 201 are exactly the new rows; every post's likes_count equals its
   like rows; every follower's home feed holds every new post of the people they follow.
Exits 1 when reconciliation fails. It prints figures and asserts no time: the machine may be shared.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from benchdb import API_DIR, log, recreate_database

ROOT = API_DIR.parent.parent
BIN = Path(sys.executable).parent

# (weight, endpoint): what one client iteration does, chosen at random by weight.
MIX = [
    (25, "feed"),
    (12, "posts_list"),
    (6, "followers"),
    (20, "post_detail"),
    (20, "like_toggle"),
    (12, "post_create"),
    (5, "post_with_image"),
]

ACCOUNTS = """
import json, random
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from apps.follows.models import Follow
from apps.posts.services import post_create
from apps.users.tests.oauth import issue_access_token
call_command("create_demo_client")
User = get_user_model()
rng = random.Random(7)
users = User.objects.bulk_create([User(username=f"load{{i}}_{{rng.randrange(10**6)}}", email=f"load{{i}}@example.com",
                                       last_login=timezone.now()) for i in range({users})])
Follow.objects.bulk_create([Follow(follower=u, followee=v) for u in users
                            for v in rng.sample([x for x in users if x != u], min({follows}, len(users) - 1))])
posts = [post_create(author=u, text=f"hello from {{u.username}} #{{n}}").id for u in users for n in range(3)]
print(json.dumps({{"users": [{{"id": u.id, "username": u.username, "token": issue_access_token(u)}} for u in users],
                  "posts": posts}}))
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--users", type=int, default=None, help="accounts (default: as many as clients)")
    p.add_argument("--follows", type=int, default=10, help="accounts each one follows")
    p.add_argument("--start", action="store_true", help="start a stack of its own (else --url and --database-url)")
    p.add_argument("--url", default="http://127.0.0.1:5000", help="the gateway of a running stack")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="that stack's database")
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="--start: server URL, no database")
    p.add_argument("--db-name", default="socialnet_load", help="--start: the database it recreates")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    p.add_argument("--settle", type=float, default=120.0, help="seconds to wait for fan-outs before reconciling")
    args = p.parse_args()
    args.users = args.users or args.clients
    if not args.start and not args.database_url:
        p.error("a running stack needs --database-url (or DATABASE_URL) for reconciliation, or use --start")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(args) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SOCIALNET_ENV_FILE="", DATABASE_URL=args.database_url, PYTHONUNBUFFERED="1")
    if args.start:
        env.update(
            REDIS_URL=args.redis_url,
            FEED_REDIS_URL="",
            DJANGO_SECRET_KEY="load-secret-key-not-for-production-0123456789abcdefghijkl",
            GATEWAY_CLIENT_SECRET="load-gateway-secret",
            DJANGO_DEBUG="false",
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_SECURE_COOKIES="false",
            DJANGO_HSTS_SECONDS="0",
            GATEWAY_RATELIMIT_ENABLED="false",  # the load is the point: limits would turn it into 429s
            THROTTLE_USER="10000000/min",
            THROTTLE_ANON="10000000/min",
            LOG_LEVEL="WARNING",
            GATEWAY_ACCESS_LOG="",
        )
    return env


def start_stack(args, env: dict[str, str]) -> subprocess.Popen:
    django_port, gateway_port = free_port(), free_port()
    env.update(
        DJANGO_BIND=f"127.0.0.1:{django_port}",
        GATEWAY_BIND=f"127.0.0.1:{gateway_port}",
        GATEWAY_UPSTREAM_URL=f"http://127.0.0.1:{django_port}",
        MEDIA_ROOT=f"/tmp/socialnet-load-media-{os.getpid()}",
    )
    args.url = f"http://127.0.0.1:{gateway_port}"
    subprocess.run([str(BIN / "python"), "manage.py", "create_gateway_client"], cwd=API_DIR, env=env, check=True)
    output = open(f"/tmp/socialnet-load-{os.getpid()}.log", "wb")  # noqa: SIM115  lives as long as the stack
    log(f"starting the Procfile's processes (their output: {output.name})")
    stack = subprocess.Popen(
        [str(BIN / "python"), "scripts/supervise.py", "Procfile"], cwd=ROOT, env=env, stdout=output, stderr=output
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{args.url}/readyz", timeout=2).status_code == 200:
                return stack
        except requests.RequestException:
            pass
        if stack.poll() is not None:
            sys.exit(f"the stack exited; see {output.name}")
        time.sleep(0.5)
    stack.send_signal(signal.SIGTERM)
    sys.exit(f"the stack did not answer {args.url}/readyz within 180 s; see {output.name}")


def make_accounts(args, env) -> dict:
    log(f"creating {args.users} accounts, each following {args.follows}, with 3 posts each")
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", ACCOUNTS.format(users=args.users, follows=args.follows)],
        cwd=API_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        sys.exit(f"creating the accounts failed (is --database-url the stack's database?):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def tiny_jpeg(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (seed % 256, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = collections.defaultdict(list)
        self.statuses = collections.defaultdict(collections.Counter)
        self.created_posts: list[tuple[int, int]] = []  # (author id, post id), every 201
        self.created_images: list[int] = []

    def record(self, endpoint: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latency[endpoint].append(seconds)
            self.statuses[endpoint][status] += 1


def client(args, user: dict, others: list[dict], post_ids: list[int], results: Results, stop: float, seed: int):
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {user['token']}"
    endpoints = [name for weight, name in MIX for _ in range(weight)]

    def call(endpoint: str, method: str, path: str, **kwargs):
        started = time.monotonic()
        try:
            response = session.request(method, f"{args.url}{path}", timeout=60, **kwargs)
            status = response.status_code
        except requests.RequestException:
            response, status = None, 0
        results.record(endpoint, time.monotonic() - started, status)
        return response

    while time.monotonic() < stop:
        endpoint = rng.choice(endpoints)
        if endpoint == "feed":
            call(endpoint, "GET", "/feed/")
        elif endpoint == "posts_list":
            call(endpoint, "GET", f"/posts/?author={rng.choice(others)['username']}")
        elif endpoint == "followers":
            call(endpoint, "GET", f"/users/{rng.choice(others)['username']}/followers/")
        elif endpoint == "post_detail":
            call(endpoint, "GET", f"/posts/{rng.choice(post_ids)}/")
        elif endpoint == "like_toggle":
            post_id = rng.choice(post_ids)
            call("like", "POST", f"/posts/{post_id}/like/")
            if rng.random() < 0.5:
                call("unlike", "DELETE", f"/posts/{post_id}/like/")
        else:
            body = {"text": f"load post {rng.randrange(10**9)}"}
            if endpoint == "post_with_image":
                upload = call(
                    "image_upload", "POST", "/images/", files={"file": ("p.jpg", tiny_jpeg(seed), "image/jpeg")}
                )
                if upload is None or upload.status_code != 201:
                    continue
                with results.lock:
                    results.created_images.append(upload.json()["id"])
                body["image_ids"] = [upload.json()["id"]]
            created = call(endpoint, "POST", "/posts/", json=body)
            if created is not None and created.status_code == 201:
                with results.lock:
                    results.created_posts.append((user["id"], created.json()["id"]))


def report(results: Results, seconds: float) -> int:
    total = sum(len(v) for v in results.latency.values())
    log(f"{total} requests in {seconds:.1f} s: {total / seconds:.1f} req/s")
    print(f"{'endpoint':<16}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  statuses")
    errors = collections.Counter()
    for endpoint in sorted(results.latency):
        values = sorted(results.latency[endpoint])
        q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
        statuses = results.statuses[endpoint]
        errors.update({s: n for s, n in statuses.items() if s == 0 or s >= 400})
        print(
            f"{endpoint:<16}{len(values):>7}{len(values) / seconds:>8.1f}{q[49] * 1000:>9.0f}{q[94] * 1000:>9.0f}"
            f"{q[98] * 1000:>9.0f}  {dict(sorted(statuses.items()))}"
        )
    log(f"errors by status (0: no answer): {dict(errors) or 'none'}")
    return sum(errors.values())


def reconcile(args, accounts: dict, results: Results, first_post_id: int) -> list[str]:
    import psycopg

    problems = []
    user_ids = [u["id"] for u in accounts["users"]]
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        rows = {r[0] for r in conn.execute("SELECT id FROM posts_post WHERE author_id = ANY(%s) AND id > %s",
                                          (user_ids, first_post_id))}  # fmt: skip
        created = {post_id for _, post_id in results.created_posts}
        if rows != created:
            problems.append(f"posts: {len(created)} answered 201, {len(rows)} new rows (diff {len(rows ^ created)})")
        images = {
            r[0] for r in conn.execute("SELECT id FROM images_image WHERE id = ANY(%s)", (results.created_images,))
        }
        if images != set(results.created_images):
            problems.append(f"images: {len(results.created_images)} answered 201, {len(images)} rows")
        drift = conn.execute(
            "SELECT p.id, p.likes_count, count(l.id) FROM posts_post p"
            " LEFT JOIN interactions_like l ON l.post_id = p.id"
            " WHERE p.author_id = ANY(%s) GROUP BY p.id HAVING p.likes_count <> count(l.id)",
            (user_ids,),
        ).fetchall()
        if drift:
            problems.append(f"likes_count differs from like rows on {len(drift)} posts, e.g. {drift[:3]}")
        follows = collections.defaultdict(set)
        for follower, followee in conn.execute(
            "SELECT follower_id, followee_id FROM follows_follow WHERE follower_id = ANY(%s)", (user_ids,)
        ):
            follows[followee].add(follower)
    log(f"reconciled {len(created)} posts, {len(images)} images, likes_count of every post")

    expected = collections.defaultdict(set)  # follower id -> new posts of the people they follow
    for author, post_id in results.created_posts:
        for follower in follows[author]:
            expected[follower].add(post_id)
    tokens = {u["id"]: u["token"] for u in accounts["users"]}

    def missing(user_id: int) -> set[int]:
        seen, url = set(), f"{args.url}/feed/?page_size=100"
        headers = {"Authorization": f"Bearer {tokens[user_id]}"}
        while url:
            page = requests.get(url, headers=headers, timeout=60).json()
            seen |= {p["id"] for p in page["results"]}
            url = page.get("next") if not expected[user_id] <= seen else None
        return expected[user_id] - seen

    deadline = time.monotonic() + args.settle
    waiting = set(expected)
    while waiting and time.monotonic() < deadline:
        waiting = {user_id for user_id in waiting if missing(user_id)}
        if waiting:
            log(f"{len(waiting)} home feeds still miss new posts; waiting for the fan-out")
            time.sleep(2)
    if waiting:
        problems.append(f"{len(waiting)} followers' home feeds miss new posts after {args.settle:g} s")
    else:
        log(f"every follower's home feed holds every new post ({sum(map(len, expected.values()))} entries)")
    return problems


def main() -> int:
    args = parse_args()
    stack = None
    if args.start:
        args.database_url = f"{args.pg}/{args.db_name}"
        env = stack_env(args)
        recreate_database(pg=args.pg, db_name=args.db_name, env=env)
        stack = start_stack(args, env)
    else:
        env = stack_env(args)
    try:
        accounts = make_accounts(args, env)
        users, post_ids = accounts["users"], accounts["posts"]
        first_post_id = max(post_ids)
        results = Results()
        log(f"{args.clients} clients for {args.seconds:g} s against {args.url} (load average {os.getloadavg()})")
        begin = time.monotonic()
        stop = begin + args.seconds
        threads = [
            threading.Thread(
                target=client, args=(args, users[i % len(users)], users, post_ids, results, stop, i), daemon=True
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            time.sleep(min(10, args.seconds / 4))
            done = sum(len(v) for v in results.latency.values())
            log(f"{done} requests so far")
        elapsed = time.monotonic() - begin
        log(f"load average after: {os.getloadavg()}")
        report(results, elapsed)
        problems = reconcile(args, accounts, results, first_post_id)
        for problem in problems:
            log(f"RECONCILIATION FAILED: {problem}")
        return 1 if problems else 0
    finally:
        if stack is not None:
            stack.send_signal(signal.SIGTERM)
            stack.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
