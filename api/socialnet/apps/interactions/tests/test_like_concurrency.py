"""Likes and unlikes racing over real HTTP connections (a live server, one DB connection per request thread)."""

import random
import threading

import pytest
import requests

from apps.interactions.models import Like
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory
from apps.users.tests.oauth import issue_access_token

THREADS = 8
ROUNDS = 12


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_and_unlikes_end_with_an_exact_count(live_server):
    author = UserFactory()
    post = post_create(author=author, text="popular")
    likers = UserFactory.create_batch(THREADS)
    tokens = [issue_access_token(u) for u in likers]
    url = f"{live_server.url}/posts/{post.id}/like/"
    barrier = threading.Barrier(THREADS)
    errors: list[str] = []
    rng = random.Random(1234)
    plans = [[rng.choice(["post", "post", "delete"]) for _ in range(ROUNDS)] for _ in range(THREADS)]

    def worker(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[index]}"
        barrier.wait()
        for method in plans[index]:
            # Each user also races against itself: two requests in flight for the same (user, post).
            responses = []
            pair = [threading.Thread(target=lambda m=method: responses.append(session.request(m, url, timeout=30)))]
            pair.append(
                threading.Thread(
                    target=lambda m=method: responses.append(
                        requests.request(m, url, headers={"Authorization": f"Bearer {tokens[index]}"}, timeout=30)
                    )
                )
            )
            for t in pair:
                t.start()
            for t in pair:
                t.join()
            for response in responses:
                if response.status_code not in (200, 201, 204):
                    errors.append(f"{method} -> {response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    expected = sum(1 for plan in plans if plan[-1] == "post")
    post.refresh_from_db()
    assert Like.objects.filter(post=post).count() == expected
    assert post.likes_count == expected
    assert expected > 0  # the plan exercises both outcomes
    assert expected < THREADS
    assert not Post.objects.filter(likes_count__lt=0).exists()
