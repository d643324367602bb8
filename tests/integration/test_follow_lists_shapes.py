"""The follower and following lists run prepared SQL (apps.common.prepared): compiled once per shape (anonymous or
not; the viewer's blocked set empty, cached as ids, or read as subqueries), then only bound with each request's
values. The suite runs with PREPARED_QUERIES_CHECK, which compiles every request the ordinary way too and fails on
a difference: here viewers of every shape ask in turn, twice, and each must get their own rows, never the rows or
the follow marks bound for the viewer before them."""

import pytest

from apps.common import prepared
from apps.common.redis import redis_client
from apps.follows.tests.factories import FollowFactory
from apps.safety.selectors import safety_sets_rebuild
from apps.safety.services import block_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def listed(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    return [(item["username"], item["is_following"]) for item in response.json()["results"]]


def test_each_viewer_shape_gets_its_own_rows(api_client, client_for):
    prepared._shapes.clear()
    star = UserFactory()
    fans = UserFactory.create_batch(3)
    for fan in fans:
        FollowFactory(follower=fan, followee=star)
    FollowFactory(follower=star, followee=fans[0])
    friend, blocker, cached_blocker = UserFactory.create_batch(3)
    FollowFactory(follower=friend, followee=fans[1])
    FollowFactory(follower=cached_blocker, followee=fans[2])
    # A fresh block leaves a tombstone in the cache: `blocker`'s pages read the blocked set as subqueries.
    block_create(blocker=blocker, blocked=fans[2])
    # `cached_blocker`'s set is rebuilt once the tombstone is gone: its pages bind the blocked ids as an array.
    block_create(blocker=cached_blocker, blocked=fans[0])
    redis_client().delete(f"safety:sets:{cached_blocker.pk}")
    assert safety_sets_rebuild(user_id=cached_blocker.pk)

    a, b, c = (fan.username for fan in fans)
    followers, following = f"/users/{star.username}/followers/", f"/users/{star.username}/following/"
    for _ in range(2):  # the second round binds into the SQL the first one compiled
        assert listed(api_client, followers) == [(c, False), (b, False), (a, False)]
        assert listed(client_for(friend), followers) == [(c, False), (b, True), (a, False)]
        assert listed(client_for(blocker), followers) == [(b, False), (a, False)]
        assert listed(client_for(cached_blocker), followers) == [(c, True), (b, False)]
        assert listed(client_for(star), following) == [(a, True)]
        assert listed(client_for(cached_blocker), following) == []

    shapes = {key[:4] for key in prepared._shapes if key[0] == "follows.list"}
    assert {
        ("follows.list", "follower", False, "empty"),
        ("follows.list", "follower", True, "subqueries"),
        ("follows.list", "follower", True, "ids"),
        ("follows.list", "followee", True, "ids"),
    } <= shapes
