"""The viewer's block set is read on every page: from Redis when cached, as subqueries otherwise, so a page costs
the same queries warm, cold, or with Redis down, whatever the page size; and a cached set can never outlive a
block."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.comments.services import comment_create
from apps.common.redis import get_redis
from apps.follows.services import follow_create
from apps.posts.services import post_create
from apps.safety import cache, selectors
from apps.safety.services import block_create, block_delete
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


def cached(user):
    return get_redis().get(f"safety:sets:{user.pk}")


@pytest.fixture
def crowd(user):
    """`user` blocks three accounts and is blocked by two, each of which has posted."""
    others = [UserFactory() for _ in range(5)]
    for other in others[:3]:
        block_create(blocker=user, blocked=other)
    for other in others[3:]:
        block_create(blocker=other, blocked=user)
    for other in others:
        post_create(author=other, text=f"hidden post of {other.username}")
    return others


def _warm(user):
    assert selectors.safety_sets_rebuild(user_id=user.pk) or cached(user) not in (None, cache.TOMBSTONE)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("path", ["/posts/", "/feed/", "comments"])
def test_page_query_count_is_constant_with_blocks(client_for, user, crowd, path, warm, settings):
    settings.FEED_REDIS_URL = DEAD_REDIS  # the home feed's database path: its posts query carries the rule too
    author = UserFactory()
    follow_create(follower=user, followee=author)
    carrier = post_create(author=author, text="carrier")
    for other in crowd:
        comment_create(post=carrier, author=other, text="hidden comment")
    get_redis().delete(*[f"safety:sets:{user.pk}"])  # the blocks above left tombstones

    def add_one(i):
        if path == "comments":
            comment_create(post=carrier, author=UserFactory(), text=f"c{i}")
        else:
            post_create(author=author, text=f"p{i}")

    url = f"/posts/{carrier.pk}/comments/" if path == "comments" else path
    expected = 1 if path == "comments" else 2  # the carrier post is on the post pages too
    client = client_for(user)
    add_one(0)
    client.get(url)  # the first home read of the day stamps last_login: not what is measured here
    if warm:
        _warm(user)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url, {"page_size": 100}).json()["results"]) == expected
    for i in range(49):
        add_one(i + 1)
    with CaptureQueriesContext(connection) as fifty:
        body = client.get(url, {"page_size": 100})
    assert len(body.json()["results"]) == expected + 49
    assert "hidden" not in body.content.decode()
    assert len(fifty) == len(one), [q["sql"] for q in fifty.captured_queries]


def test_warm_and_cold_cost_the_same(client_for, user, crowd):
    client = client_for(user)
    get_redis().delete(f"safety:sets:{user.pk}")
    with CaptureQueriesContext(connection) as cold:
        client.get("/posts/")
    _warm(user)
    with CaptureQueriesContext(connection) as warm:
        body = client.get("/posts/").content.decode()
    assert len(warm) == len(cold)
    assert "hidden post" not in body


def test_cached_sets_are_used_and_a_block_invalidates_them_at_once(client_for, user, other_user):
    post_create(author=other_user, text="visible until blocked")
    client = client_for(user)
    _warm(user)
    assert b"[]" in cached(user)  # nobody hidden
    assert "visible until blocked" in client.get("/posts/").content.decode()
    block_create(blocker=user, blocked=other_user)
    # Inside the block's transaction already (the test's transaction never commits): tombstones for both.
    assert cached(user) == cache.TOMBSTONE
    assert cached(other_user) == cache.TOMBSTONE
    assert "visible until blocked" not in client.get("/posts/").content.decode()
    assert client.get(f"/users/{other_user.username}/").status_code == 404


def test_a_rebuild_that_read_before_the_block_cannot_store_its_stale_set(user, other_user):
    stale = selectors._load_sets(user.pk)  # a rebuild task read PostgreSQL...
    block_create(blocker=user, blocked=other_user)  # ...then the block committed...
    assert cache.sets_store(user.pk, stale) is False  # ...and the stale set is refused (the tombstone is there)
    assert other_user.pk in selectors.hidden_accounts(user)
    get_redis().delete(f"safety:sets:{user.pk}")  # the tombstone expired: rebuilds store again, fresh ones
    _warm(user)
    assert other_user.pk in selectors.hidden_accounts(user).ids


def test_unblock_invalidates_too(user, other_user):
    block_create(blocker=user, blocked=other_user)
    get_redis().delete(f"safety:sets:{user.pk}")
    _warm(user)
    assert other_user.pk in selectors.hidden_accounts(user).ids
    block_delete(blocker=user, blocked=other_user)
    assert other_user.pk not in selectors.hidden_accounts(user)


def test_a_miss_queues_one_rebuild_after_commit(user, other_user, django_capture_on_commit_callbacks):
    block_create(blocker=other_user, blocked=user)
    get_redis().delete(f"safety:sets:{user.pk}")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        selectors.hidden_accounts(user)
        selectors.hidden_accounts(user)  # several reads of one request: one rebuild
    assert len(callbacks) == 1
    callbacks[0]()  # tasks run eagerly in tests
    assert other_user.pk in selectors.hidden_accounts(user).ids
    assert cached(user) not in (None, cache.TOMBSTONE)


def test_redis_down_still_enforces_blocks(client_for, user, other_user, settings):
    post_create(author=other_user, text="never to be seen")
    block_create(blocker=user, blocked=other_user)
    settings.REDIS_URL = DEAD_REDIS
    client = client_for(user)
    assert client.get(f"/users/{other_user.username}/").status_code == 404
    assert "never to be seen" not in client.get("/posts/").content.decode()
    unblocked = UserFactory()
    assert client.post(f"/users/{unblocked.username}/block/").status_code == 201
    assert client.get(f"/users/{unblocked.username}/").status_code == 404
