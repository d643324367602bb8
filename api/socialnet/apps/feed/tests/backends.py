"""The timeline stores the feed tests run against: the shared Redis (REDIS_URL, as in the default deployment) and
a local 3-master Redis Cluster (FEED_REDIS_CLUSTER), started once per session on free loopback ports.

A test opts in with `@pytest.mark.usefixtures("timeline_backend")` and then runs once per store. Only the tests
whose Redis commands differ between the two take part (fan-out, backfill, unmerge, purges, celebrity merge,
markers, the cap); everything else says the same on either store and runs once.
"""

import pytest

from apps.common.testing.servers import RedisClusterServers


@pytest.fixture(scope="session")
def redis_cluster():
    cluster = RedisClusterServers().start()
    yield cluster
    cluster.close()


@pytest.fixture(params=["redis", "cluster"])
def timeline_backend(request, settings):
    """Point the feed at one store, empty. "redis": timelines in REDIS_URL (emptied by the suite's cache fixture)."""
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        settings.FEED_REDIS_URL = cluster.url
        settings.FEED_REDIS_CLUSTER = True
        for node in cluster.nodes:
            node.cli("flushall")
    return request.param
