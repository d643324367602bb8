#!/usr/bin/env python3
"""Per-request CPU benchmark: what a request costs in Django's Python, as a multiple of a vanilla DRF view.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/requests.py --db-name socialnet_bench_requests

What it does, against 127.0.0.1 only, in this one process:
1. (re)creates a separate PostgreSQL database (--db-name, never the project's own), migrates it and seeds a small
   network through the ORM: users, follows, posts, a commented post, likes by the viewer's followees (so "for you"
   has candidates) and notifications; its Redis database (--redis-url) is flushed first: use one of its own;
2. adds, inside this process only, a vanilla DRF view (`APIView` answering {"ok": true}: no authentication, no
   permission, no throttle) at the head of the URLconf;
3. calls Django's WSGI handler itself (what gunicorn calls: every middleware, DRF, the real bearer-token check
   with a real access token, throttles against Redis, the database through the pool) and measures CPU time
   (time.process_time, so time spent waiting on PostgreSQL or Redis counts for little) in batches of `--requests`:
   each round runs the cases in a shuffled order with a vanilla batch before the first case and after each one,
   and a case's ratio in that round is its batch against the mean of the two vanilla batches around it. On a
   shared machine the CPU time of the same code moves by tens of percent from one second to the next (other
   processes sharing the cores and their caches): neighbouring batches see the same machine, a ratio taken between
   a case's best round and the vanilla view's best round, seconds apart, did not. Before each batch one untimed
   request of the same path: the first request after another path's costs up to twice the next (cold caches);
4. prints each case's median CPU per request and median ratio over the `--rounds` rounds, the load average, and last
   `users_me=<R>x list=<worst R>x` (list: the worst of the 20-item list pages).
Targets (issue 15): users_me <= 4x, every list page <= 10x.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

if __name__ == "requests":
    # Python puts a script's directory first on sys.path, so `import requests` in bench/gateway.py (and in
    # django-oauth-toolkit, imported by this script) finds this file instead of the HTTP library: hand over to it.
    import importlib

    _here = Path(__file__).resolve().parent
    _saved = sys.path[:]
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _here]
    try:
        del sys.modules["requests"]
        sys.modules["requests"] = importlib.import_module("requests")
    finally:
        sys.path[:] = _saved
else:
    from benchdb import log, recreate_database, server_env

ROOT = Path(__file__).resolve().parent.parent
API_DIR = ROOT / "api" / "socialnet"
PAGE = 20
VANILLA = "vanilla DRF view"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL, without database")
    p.add_argument("--db-name", default="socialnet_bench_requests")
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        help="a Redis database of the benchmark's own: it is flushed",
    )
    p.add_argument("--requests", type=int, default=40, help="requests per timed batch")
    p.add_argument("--rounds", type=int, default=15, help="rounds over every case; each case keeps its median")
    p.add_argument("--users", type=int, default=2_000)
    p.add_argument("--posts", type=int, default=20_000)
    p.add_argument("--skip-seed", action="store_true", help="reuse the database seeded by an earlier run")
    p.add_argument("--only", nargs="*", help="case names to run (the vanilla view always runs)")
    return p.parse_args()


# --- seeding ------------------------------------------------------------------------------------------------------
def seed(args) -> None:
    """A small network through the ORM (bulk inserts): the pages only need their 20 items and realistic joins."""
    from django.db import connection
    from django.utils import timezone

    from apps.comments.models import Comment
    from apps.follows.models import Follow
    from apps.interactions.models import Like
    from apps.notifications.models import Notification
    from apps.posts.models import Post
    from apps.users.models import User

    rng = random.Random(15)
    started = time.monotonic()
    now = timezone.now()
    log(f"seeding {args.users:,} users, {args.posts:,} posts")
    users = User.objects.bulk_create(
        User(
            username=f"bench{i}",
            email=f"bench{i}@bench.invalid",
            password="!",
            first_name="Bench",
            last_name=f"User {i}",
            bio="A benchmark account.",
            last_login=now,
            email_verified=True,
        )
        for i in range(args.users)
    )
    viewer, others = users[0], users[1:]
    followees = rng.sample(others, min(100, len(others)))
    followers = rng.sample(others, min(60, len(others)))
    pairs = {(viewer.pk, u.pk) for u in followees} | {(u.pk, viewer.pk) for u in followers}
    while len(pairs) < args.users * 5:
        a, b = rng.sample(others, 2)
        pairs.add((a.pk, b.pk))
    Follow.objects.bulk_create((Follow(follower_id=a, followee_id=b) for a, b in pairs), batch_size=5000)
    visibilities = ["public"] * 8 + ["followers", "premium"]
    Post.objects.bulk_create(
        (
            Post(
                author=rng.choice(others),
                text=f"bench post {i} " + " ".join(rng.choice(["sun", "rain", "code", "tea"]) for _ in range(12)),
                visibility=rng.choice(visibilities),
                likes_count=rng.randint(0, 30),
                comments_count=rng.randint(0, 5),
                views_count=rng.randint(0, 200),
            )
            for i in range(args.posts)
        ),
        batch_size=5000,
    )
    recent = list(Post.objects.filter(visibility="public").order_by("-id").values_list("pk", flat=True)[:2000])
    likes = {(u.pk, rng.choice(recent)) for u in followees for _ in range(10)}
    Like.objects.bulk_create((Like(user_id=u, post_id=p) for u, p in likes), batch_size=5000, ignore_conflicts=True)
    thread = Post.objects.create(author=followees[0], text="a thread with many comments", comments_count=60)
    Comment.objects.bulk_create(Comment(post=thread, author=rng.choice(others), text=f"comment {i}") for i in range(60))
    Notification.objects.bulk_create(
        (
            Notification(recipient=viewer, actor=actor, type="like", post_id=post)
            for actor, post in zip(followers, rng.sample(recent, len(followers)), strict=True)
        ),
        ignore_conflicts=True,
    )
    Notification.objects.bulk_create(
        (Notification(recipient=viewer, actor=actor, type="follow") for actor in followers), ignore_conflicts=True
    )
    with connection.cursor() as c:
        for counter, sql in {
            "followers_count": "SELECT followee_id, count(*) FROM follows_follow GROUP BY 1",
            "following_count": "SELECT follower_id, count(*) FROM follows_follow GROUP BY 1",
            "posts_count": "SELECT author_id, count(*) FROM posts_post GROUP BY 1",
        }.items():
            c.execute(f"UPDATE users_user u SET {counter} = s.n FROM ({sql}) s(id, n) WHERE u.id = s.id")
        c.execute("ANALYZE")
    log(f"seeded in {time.monotonic() - started:.1f}s")


# --- the vanilla view and the requests ----------------------------------------------------------------------------
def add_vanilla_view() -> str:
    """The reference: a DRF view with nothing of ours, mounted in this process's URLconf only."""
    from django.urls import clear_url_caches, path
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.views import APIView

    import config.urls

    class VanillaView(APIView):
        authentication_classes = []
        permission_classes = [AllowAny]
        throttle_classes = []

        def get(self, request):
            return Response({"ok": True})

    # First in the URLconf: Django resolves it at once, so the reference holds none of our URLconf's cost either.
    config.urls.urlpatterns.insert(0, path("bench-vanilla/", VanillaView.as_view()))
    clear_url_caches()
    return "/bench-vanilla/"


def make_caller():
    """One request through Django's WSGI handler, as gunicorn makes it: returns (status, body)."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    base = {
        "REQUEST_METHOD": "GET",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_ACCEPT": "application/json",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    status_holder = []

    def start_response(status, headers, exc_info=None):
        status_holder.append(status)

    def call(path: str, token: str | None) -> tuple[int, bytes]:
        route, _, query = path.partition("?")
        environ = {**base, "PATH_INFO": route, "QUERY_STRING": query, "wsgi.input": io.BytesIO(b"")}
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        status_holder.clear()
        result = handler(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
        return int(status_holder[0].split()[0]), body

    return call


def cases(vanilla: str) -> tuple[dict[str, tuple[str, bool]], str]:
    """name -> (path, with the viewer's token); and the viewer's token."""
    from apps.comments.models import Comment
    from apps.users.models import User
    from apps.users.tests.oauth import issue_access_token

    viewer = User.objects.get(username="bench0")
    thread = Comment.objects.order_by("-id").values_list("post_id", flat=True).first()
    token = issue_access_token(viewer, expires_in=24 * 3600)
    # The steady state: a read that misses the viewer's cached block/mute sets queues their rebuild, and a worker
    # stores them within moments. No worker runs here, so rebuild them now, as that worker would.
    from apps.safety.selectors import safety_sets_rebuild

    safety_sets_rebuild(user_id=viewer.pk)
    return {
        VANILLA: (vanilla, False),
        "users_me": ("/users/me/", True),
        "posts anonymous": ("/posts/", False),
        "posts": ("/posts/", True),
        "feed": ("/feed/", True),
        "feed recommended": ("/feed/recommended/", True),
        "feed trending": ("/feed/trending/", True),
        "comments": (f"/posts/{thread}/comments/", True),
        "followers": (f"/users/{viewer.username}/followers/", True),
        "notifications": ("/notifications/", True),
    }, token


def check(call, name: str, path: str, token: str | None) -> None:
    status, body = call(path, token)
    if status != 200:
        sys.exit(f"{name}: {path} answered {status}: {body[:300]!r}")
    payload = json.loads(body)
    if isinstance(payload, dict) and "results" in payload and len(payload["results"]) != PAGE:
        sys.exit(f"{name}: {path} has {len(payload['results'])} items, not {PAGE}: seed more data")


def cpu_per_request(call, path: str, token: str | None, n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        call(path, token)
    return (time.process_time() - started) / n


def timed_batch(call, path: str, token: str | None, n: int) -> float:
    """CPU per request over `n` requests, after one untimed request (module docstring, point 3)."""
    call(path, token)
    return cpu_per_request(call, path, token, n)


def measure(call, table: dict[str, tuple[str, bool]], token: str, requests: int, rounds: int):
    """Each case's CPU per request in every round, and its ratio to the vanilla batches on either side of it."""
    vanilla_path = table[VANILLA][0]
    names = [name for name in table if name != VANILLA]
    cpu: dict[str, list[float]] = {name: [] for name in table}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random(15)  # the same orders in every run: one case never always follows the same other
    for round_no in range(rounds):
        order.shuffle(names)
        before = timed_batch(call, vanilla_path, None, requests)
        cpu[VANILLA].append(before)
        for name in names:
            path, with_token = table[name]
            case = timed_batch(call, path, token if with_token else None, requests)
            after = timed_batch(call, vanilla_path, None, requests)
            cpu[name].append(case)
            cpu[VANILLA].append(after)
            ratios[name].append(case / ((before + after) / 2))
            before = after
        log(f"round {round_no + 1}/{rounds} done")
    return cpu, ratios


def main() -> None:
    args = parse_args()
    os.environ.update(server_env(args))
    sys.path.insert(0, str(API_DIR))
    if not args.skip_seed:
        recreate_database(pg=args.pg, db_name=args.db_name, env=server_env(args))
    import django

    django.setup()
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # timelines and caches of an earlier seed name other rows
    if not args.skip_seed:
        seed(args)
    table, token = cases(add_vanilla_view())
    if args.only:
        table = {k: v for k, v in table.items() if k == VANILLA or k in args.only}
    call = make_caller()
    for name, (path, with_token) in table.items():
        check(call, name, path, token if with_token else None)
        cpu_per_request(call, path, token if with_token else None, 20)  # warm: timelines, caches, pool
    load_before = os.getloadavg()
    cpu, ratios = measure(call, table, token, args.requests, args.rounds)
    load_after = os.getloadavg()

    ratio = {name: statistics.median(values) for name, values in ratios.items()}
    ratio[VANILLA] = 1.0
    print("\n| request | CPU / request | x vanilla DRF |\n|---|---|---|")
    for name, (path, with_token) in table.items():
        label = f"`GET {path.split('?')[0]}`" + (" (token)" if with_token else "")
        if name == VANILLA:
            label = VANILLA
        print(f"| {label} | {statistics.median(cpu[name]) * 1000:.2f} ms | {ratio[name]:.1f} |")
    print(
        f"\nload average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
        f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} after; "
        f"{args.requests} requests x {args.rounds} rounds per case, medians"
    )
    lists = [ratio[k] for k in table if k not in (VANILLA, "users_me")]
    users_me = f"{ratio['users_me']:.1f}x" if "users_me" in ratio else "n/a"
    print(f"users_me={users_me} list={max(lists):.1f}x" if lists else f"users_me={users_me} list=n/a")


if __name__ == "__main__":
    main()
