from django.core.cache import caches

from apps.common.cache import RedisCache


def test_the_default_cache_keeps_one_client_per_pool():
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    cache.set("test:kept-client", {"a": 1}, timeout=30)
    assert cache.get("test:kept-client") == {"a": 1}
    client = cache._cache.get_client(write=False)
    assert cache._cache.get_client(write=False) is client
    cache.delete("test:kept-client")
    assert cache.get("test:kept-client") is None
