"""Two people following each other at the same instant: both follows land, counters exact, no deadlock."""

import threading

import pytest
from django.db import connection

from apps.follows.models import Follow
from apps.follows.services import follow_create, follow_delete, follows_counters_recount
from apps.users.models import User
from apps.users.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation", ["follow", "unfollow"])
def test_mutual_follows_and_unfollows_at_once(operation):
    errors = []
    pairs = [(UserFactory(), UserFactory()) for _ in range(15)]
    if operation == "unfollow":
        for a, b in pairs:
            follow_create(follower=a, followee=b)
            follow_create(follower=b, followee=a)

    def run(barrier, follower, followee):
        try:
            barrier.wait()
            if operation == "follow":
                follow_create(follower=follower, followee=followee)
            else:
                follow_delete(follower=follower, followee=followee)
        except Exception as exc:  # a deadlock would surface here
            errors.append(repr(exc))
        finally:
            connection.close()

    for a, b in pairs:
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=run, args=(barrier, a, b)),
            threading.Thread(target=run, args=(barrier, b, a)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    expected = 1 if operation == "follow" else 0
    for a, b in pairs:
        assert Follow.objects.filter(follower__in=[a, b], followee__in=[a, b]).count() == 2 * expected
        for user in User.objects.filter(pk__in=[a.pk, b.pk]):
            assert (user.followers_count, user.following_count) == (expected, expected)


@pytest.mark.django_db
def test_recount_repairs_follow_counters():
    a, b = UserFactory(), UserFactory()
    follow_create(follower=a, followee=b)
    User.objects.filter(pk__in=[a.pk, b.pk]).update(followers_count=7, following_count=9)
    assert follows_counters_recount() == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.following_count, a.followers_count, b.followers_count, b.following_count) == (1, 0, 1, 0)
