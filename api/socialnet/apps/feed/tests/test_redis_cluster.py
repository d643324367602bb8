"""Timelines on a Redis Cluster (FEED_REDIS_CLUSTER): what only a cluster can get wrong. The behaviour shared with a
single Redis (fan-out, backfill, unmerge, purges, celebrity merge) runs on both stores in test_home_feed.py."""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from apps.common.testing.servers import RedisClusterServers
from apps.feed import services
from apps.feed.timeline import celebrities_key, recommended_key, timeline_client, timeline_key
from apps.posts.tests.factories import PostFactory

from .factories import follow, publish
from .test_home_feed import all_feed_ids, feed_ids

pytestmark = pytest.mark.django_db


def test_a_users_keys_share_one_slot():
    # timeline_read fetches the timeline and the celebrity list with one script, which a cluster runs only when its
    # keys share a slot; follows_changed drops the celebrity list and the "for you" ranking in one DEL, which a
    # cluster refuses across slots.
    for user_id in (1, 42, 987654):
        slots = {key_slot(key(user_id).encode()) for key in (timeline_key, celebrities_key, recommended_key)}
        assert len(slots) == 1
    assert len({key_slot(timeline_key(user_id).encode()) for user_id in range(50)}) > 1  # users do spread


def test_the_cluster_setting_gives_a_cluster_client(settings, redis_cluster):
    settings.FEED_REDIS_URL = redis_cluster.url
    settings.FEED_REDIS_CLUSTER = True
    client = timeline_client()
    assert isinstance(client, redis.RedisCluster)
    assert len(client.get_primaries()) == 3
    settings.FEED_REDIS_CLUSTER = False
    assert not isinstance(timeline_client(), redis.RedisCluster)


@pytest.fixture
def own_cluster(settings):
    """A cluster of the test's own, since this test kills one of its nodes."""
    cluster = RedisClusterServers().start()
    settings.FEED_REDIS_URL = cluster.url
    settings.FEED_REDIS_CLUSTER = True
    yield cluster
    cluster.close()


def test_a_dead_node_sends_its_users_feeds_to_the_database(own_cluster, client_for, active_user, oncommit):
    me, author = active_user(), active_user()
    follow(oncommit, me, author)
    client = client_for(me)
    feed_ids(client)  # a complete timeline in the cluster
    fanned = [publish(oncommit, author).pk for _ in range(3)]
    unfanned = PostFactory(author=author).pk  # in PostgreSQL only: a page from Redis would not have it
    assert feed_ids(client) == fanned[::-1]

    owner = timeline_client().get_node_from_key(timeline_key(me.pk))
    next(node for node in own_cluster.nodes if node.port == owner.port).kill()
    expected = [unfanned, *fanned[::-1]]
    assert all_feed_ids(client, page_size=2) == expected  # every page 200, from the database
    with pytest.raises(redis.RedisError):  # a fan-out to them fails loudly, so its task retries
        services.fanout_post_batch(post_id=unfanned, user_ids=[author.pk, me.pk])
    # Once the others notice (cluster-node-timeout, 2 s here), the whole cluster refuses to answer (a slot has no
    # owner): still the database.
    survivor = next(node for node in own_cluster.nodes if node.port != owner.port)
    for _ in range(100):
        if "cluster_state:fail" in survivor.cli("cluster", "info"):
            break
        time.sleep(0.1)
    assert "cluster_state:fail" in survivor.cli("cluster", "info")
    assert all_feed_ids(client, page_size=2) == expected


@pytest.mark.parametrize("feed_redis_url, starts", [("", False), ("redis://127.0.0.1:1/0", True)])
def test_a_cluster_without_its_own_url_refuses_to_start(feed_redis_url, starts):
    # REDIS_URL carries the broker and the cache, which need a single Redis: it can never be the cluster's node.
    env = {
        "PATH": os.environ["PATH"],
        "SOCIALNET_ENV_FILE": "",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "sqlite://:memory:",
        "FEED_REDIS_CLUSTER": "true",
        "FEED_REDIS_URL": feed_redis_url,
    }
    project = Path(__file__).resolve().parents[3]
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert (check.returncode == 0) == starts, check.stderr
    if not starts:
        assert "FEED_REDIS_CLUSTER=true needs FEED_REDIS_URL" in check.stderr
