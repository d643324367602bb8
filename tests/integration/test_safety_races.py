"""A block and a follow between the same two accounts at the same instant: never a follow across a block, counters
exact, no deadlock."""

import threading

import pytest
from django.db import connection
from django.http import Http404

from apps.follows.models import Follow
from apps.follows.services import follow_create
from apps.safety.models import Block
from apps.safety.services import block_create
from apps.users.models import User
from apps.users.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who_follows", ["blocked", "blocker"])
def test_block_and_follow_at_once(who_follows):
    errors = []
    pairs = [(UserFactory(), UserFactory()) for _ in range(12)]

    def run(barrier, action):
        try:
            barrier.wait()
            action()
        except Http404:
            pass  # the follow lost the race: refused, as the view would answer
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    for blocker, blocked in pairs:
        follower, followee = (blocked, blocker) if who_follows == "blocked" else (blocker, blocked)
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(
                target=run, args=(barrier, lambda b=blocker, d=blocked: block_create(blocker=b, blocked=d))
            ),
            threading.Thread(
                target=run, args=(barrier, lambda f=follower, e=followee: follow_create(follower=f, followee=e))
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert errors == []
    for blocker, blocked in pairs:
        assert Block.objects.filter(blocker=blocker, blocked=blocked).exists()
        assert not Follow.objects.filter(follower__in=[blocker, blocked], followee__in=[blocker, blocked]).exists()
        for user in User.objects.filter(pk__in=[blocker.pk, blocked.pk]):
            assert (user.followers_count, user.following_count) == (0, 0)
