#!/usr/bin/env python3
"""Search benchmark: seed posts with a realistic word distribution, tags and users, then time search and a tag
timeline in-process and show the plans PostgreSQL picks.

    .venv/bin/python bench/search.py                                  # 10 000 users, 100 000 posts
    .venv/bin/python bench/search.py --users 2000 --posts 20000 --requests 50    # a quick run

What it does, against 127.0.0.1 only:
1. (re)creates a separate PostgreSQL database (--db-name, never the project's own), migrates it (so the search
   column and the GIN/trigram indexes are the migration's), and seeds it with COPY: users with names, posts whose
   words follow a Zipf distribution over a vocabulary (so common and rare words both exist), about a third of them
   with one to three tags, one in ten premium and one in ten followers-only;
2. times GET /search/?type=posts (a rare and a common word), GET /search/?type=accounts (a prefix and a typo),
   GET /tags/{name}/posts/ through Django's test client (the whole view: selector, serializer, JSON), p50/p99;
3. prints EXPLAIN for the post (rare and common word), account (prefix and typo) and tag queries: the GIN index
   on `search_vector` or the primary key walked backwards, the lower(column) prefix and GiST trigram indexes, and
   the (tag, post) index should be there; and the load average, since the machine may be shared;
4. checks a tag timeline page costs the same number of SQL queries as a /posts/ page.
Targets on this machine: post search p99 <= 50 ms, account search p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchdb import log, recreate_database, server_env

ROOT = Path(__file__).resolve().parent.parent
API_DIR = ROOT / "api" / "socialnet"
SEED = 13
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "bo", "da", "fe", "gi", "ha", "ju", "pe"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--posts", type=int, default=100_000)
    p.add_argument("--vocabulary", type=int, default=20_000)
    p.add_argument("--tags", type=int, default=2_000)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL, without database")
    p.add_argument("--db-name", default="socialnet_bench_search")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    p.add_argument("--requests", type=int, default=200, help="timed requests per case")
    p.add_argument("--skip-seed", action="store_true", help="reuse the database seeded by an earlier run")
    return p.parse_args()


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    return list(dict.fromkeys(word(rng) for _ in range(size * 2)))[:size]


def sample_words(vocabulary: list[str]) -> dict:
    return {"common": vocabulary[0], "rare": vocabulary[len(vocabulary) // 2]}


def seed(args) -> dict:
    from django.db import connection

    rng = random.Random(SEED)
    now = datetime.now(UTC)
    vocabulary = make_vocabulary(rng, args.vocabulary)
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf: a few words are everywhere
    tags = [f"tag{word(rng)}{i}" for i in range(args.tags)]
    started = time.monotonic()
    with connection.cursor() as c:
        raw = c.cursor
        log(f"seeding {args.users:,} users")
        with raw.copy(
            "COPY users_user (password, is_superuser, username, first_name, last_name, is_staff, is_active, "
            "date_joined, email, role, bio, followers_count, following_count, posts_count, is_private, email_verified, "
            "pending_email) FROM STDIN"
        ) as copy:
            for i in range(args.users):
                name = f"{word(rng)}{i}"
                followers = int(rng.paretovariate(1.2)) - 1
                copy.write_row(
                    ("!", False, name, word(rng).title(), word(rng).title(), False, True, now, f"{name}@bench.invalid",
                     "user", "", followers, 0, 0, i % 20 == 0, True, "")
                )  # fmt: skip
        c.execute("SELECT id, username FROM users_user ORDER BY id")
        users = c.fetchall()
        user_ids = [u[0] for u in users]

        log(f"seeding {args.posts:,} posts")
        visibilities = ["public"] * 8 + ["followers", "premium"]
        post_tags: list[list[str]] = []
        with raw.copy(
            "COPY posts_post (author_id, text, visibility, likes_count, comments_count, views_count, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            for i in range(args.posts):
                words = rng.choices(vocabulary, weights=weights, k=rng.randint(5, 40))
                chosen = rng.sample(tags, rng.randint(1, 3)) if rng.random() < 0.33 else []
                post_tags.append(chosen)
                text = " ".join(words + [f"#{t}" for t in chosen])
                t = now - timedelta(seconds=(args.posts - i) * 6)
                copy.write_row((rng.choice(user_ids), text, rng.choice(visibilities), 0, 0, 0, t, t))
        log("seeding tags")
        with raw.copy("COPY tags_tag (name, key, created_at) FROM STDIN") as copy:
            for t in tags:
                copy.write_row((t, t, now))
        c.execute("SELECT key, id FROM tags_tag")
        tag_ids = dict(c.fetchall())
        c.execute("SELECT id FROM posts_post ORDER BY id")
        post_ids = [r[0] for r in c.fetchall()]
        with raw.copy("COPY tags_posttag (post_id, tag_id, created_at) FROM STDIN") as copy:
            for pid, chosen in zip(post_ids, post_tags, strict=True):
                for t in chosen:
                    copy.write_row((pid, tag_ids[t], now))
        c.execute("ANALYZE")
    log(f"seeded in {time.monotonic() - started:.1f}s")
    return {**sample_words(vocabulary), "user": users[len(users) // 2][1]}


def timed(client, path: str, n: int) -> tuple[float, float]:
    for _ in range(3):
        client.get(path)  # warm caches and connections
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.content[:200])
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def explain(qs, label: str) -> None:
    log(f"EXPLAIN {label}")
    print(qs.explain(), flush=True)


def main() -> None:
    args = parse_args()
    os.environ.update(server_env(args))
    sys.path.insert(0, str(API_DIR))
    if not args.skip_seed:
        recreate_database(pg=args.pg, db_name=args.db_name, env=server_env(args))
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from apps.search import selectors as search
    from apps.tags import selectors as tags
    from apps.users.models import User

    if args.skip_seed:
        # The same words as the seeding run: the vocabulary is drawn first from the same seed.
        sample = {
            **sample_words(make_vocabulary(random.Random(SEED), args.vocabulary)),
            "user": User.objects.order_by("id")[args.users // 2].username,
        }
    else:
        sample = seed(args)
    viewer = User.objects.filter(is_private=False).order_by("id").first()
    client = APIClient()
    client.force_authenticate(viewer)
    tag = tags.Tag.objects.order_by("id").first()
    typo = sample["user"][:2] + sample["user"][3:]
    cases = {
        f"post search, rare word {sample['rare']!r}": f"/search/?type=posts&q={sample['rare']}",
        f"post search, common word {sample['common']!r}": f"/search/?type=posts&q={sample['common']}",
        f"account search, prefix {sample['user'][:4]!r}": f"/search/?type=accounts&q={sample['user'][:4]}",
        f"account search, typo {typo!r}": f"/search/?type=accounts&q={typo}",
        "all kinds, 5 each": f"/search/?q={sample['rare']}",
        f"tag timeline #{tag.name}": f"/tags/{tag.name}/posts/",
        "/posts/ (for comparison)": "/posts/",
    }
    log(f"{args.requests} requests per case, as {viewer.username}; load average {load()}")
    for label, path in cases.items():
        p50, p99 = timed(client, path, args.requests)
        print(f"  {label:45s} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms", flush=True)
    log(f"load average after the timed requests {load()} (1/5/15 min, {os.cpu_count()} CPUs)")

    explain(search.search_posts(viewer=viewer, q=sample["rare"])[:20], "post search (rare word)")
    explain(search.search_posts(viewer=viewer, q=sample["common"])[:20], "post search (common word)")
    explain(search.search_accounts(viewer=viewer, q=sample["user"][:4])[:20], "account search (prefix)")
    explain(search.search_accounts(viewer=viewer, q=typo)[:20], "account search (typo)")
    explain(search.search_tags(viewer=viewer, q="tagka")[:20], "tag prefix")
    explain(tags.tag_posts(viewer=viewer, key=tag.key)[:20], "tag timeline")

    counts = {}
    for path in (f"/tags/{tag.name}/posts/", "/posts/"):
        with CaptureQueriesContext(connection) as ctx:
            client.get(path)
        counts[path] = len(ctx)
    log(f"SQL queries per page: {counts}")


if __name__ == "__main__":
    main()
