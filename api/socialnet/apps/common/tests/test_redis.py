"""The one Redis client factory: a pooled client per URL, short timeouts, fresh clients when the settings change."""

import pytest
import redis

from apps.common.redis import redis_client

DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_one_pooled_client_per_url(settings):
    assert redis_client() is redis_client()
    settings.FEED_REDIS_URL = settings.REDIS_URL
    assert redis_client("FEED_REDIS_URL") is redis_client()
    assert redis_client().ping()


def test_an_empty_url_setting_means_no_redis(settings):
    settings.FEED_REDIS_URL = ""
    assert redis_client("FEED_REDIS_URL") is None


def test_clients_take_the_socket_timeout_setting(settings):
    settings.REDIS_SOCKET_TIMEOUT = 0.25
    options = redis_client().connection_pool.connection_kwargs
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (0.25, 0.25)


def test_changing_a_url_setting_replaces_its_client(settings):
    before = redis_client()
    settings.REDIS_URL = DEAD
    dead = redis_client()
    assert dead is not before
    with pytest.raises(redis.ConnectionError):
        dead.ping()


def test_replies_are_parsed_by_hiredis():
    """hiredis (api/requirements.txt) halves the CPU of every Redis call; redis-py falls back to its pure-Python
    parser without a word when it is missing, so a broken install would only show as a slower API."""
    client = redis_client()
    connection = client.connection_pool.get_connection()
    try:
        assert type(connection._parser).__name__ == "_HiredisParser"
    finally:
        client.connection_pool.release(connection)
