"""The viewer's block set is read on every page: from Redis when cached, as subqueries otherwise, so a page costs
the same queries warm, cold, or with Redis down, whatever the page size; and a cached set can never outlive a
block."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.comments.services import comment_create
from apps.common.redis import redis_client
from apps.feed.services import trending_refresh
from apps.follows.services import follow_create
from apps.interactions.services import like_create
from apps.notifications.services import notification_like
from apps.posts.services import post_create
from apps.safety import cache, selectors
from apps.safety.services import block_create, mute_set
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


def cached(user):
    return redis_client().get(f"safety:sets:{user.pk}")


@pytest.fixture
def crowd(user):
    """`user` blocks three accounts and is blocked by two, each of which has posted; and mutes three more."""
    for muted in range(3):
        mute_set(muter=user, muted=UserFactory(), duration=timedelta(days=muted) if muted else None)
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
@pytest.mark.parametrize("path", ["/posts/", "/feed/", "/feed/trending/", "/notifications/", "comments"])
def test_page_query_count_is_constant_with_blocks_and_mutes(client_for, user, crowd, path, warm, settings):
    """1 item vs 50, with the viewer's blocks (both ways) and mutes present and their authors' content around."""
    settings.FEED_REDIS_URL = DEAD_REDIS  # the home feed's database path: its posts query carries the rule too
    author = UserFactory()
    follow_create(follower=user, followee=author)
    carrier = post_create(author=author, text="carrier")
    mine = post_create(author=user, text="mine")
    noisy = [*crowd, *(m.muted for m in user.mutes_made.all())]
    for other in noisy:
        comment_create(post=carrier, author=other, text="hidden comment" if other in crowd else "muted comment")
        notification_like(like_id=like_create(user=other, post=mine)[0].pk)
        like_create(user=other, post=other.posts.first() or post_create(author=other, text="muted post"))
    redis_client().delete(f"safety:sets:{user.pk}")  # the blocks and mutes above left a tombstone

    def add_one(i):
        if path == "comments":
            comment_create(post=carrier, author=UserFactory(), text=f"c{i}")
        elif path == "/notifications/":
            notification_like(like_id=like_create(user=UserFactory(), post=mine)[0].pk)
        else:
            post = post_create(author=author, text=f"p{i}")
            like_create(user=UserFactory(), post=post)  # engaging: trending

    url = f"/posts/{carrier.pk}/comments/" if path == "comments" else path
    # Besides the added items: what is neither blocked nor muted (carrier and mine, engaged enough to trend), and
    # what a mute does not hide (muted authors' posts on /posts/, their comments in threads).
    extra = {"/posts/": 5, "/feed/": 2, "/feed/trending/": 2, "comments": 3}.get(path, 0)
    client = client_for(user)
    add_one(0)
    trending_refresh()
    client.get(url)  # the first home read of the day stamps last_login: not what is measured here
    if warm:
        _warm(user)
    with CaptureQueriesContext(connection) as one:
        first = client.get(url, {"page_size": 100}).json()["results"]
    assert len(first) == extra + 1, [(r.get("text"), r.get("author")) for r in first]
    for i in range(49):
        add_one(i + 1)
    trending_refresh()
    with CaptureQueriesContext(connection) as fifty:
        body = client.get(url, {"page_size": 100})
    assert len(body.json()["results"]) == extra + 50
    assert "hidden" not in body.content.decode()
    muted_shown = path in ("/posts/", "comments")
    for other in crowd if muted_shown else noisy:
        assert f'"{other.username}"' not in body.content.decode()
    assert len(fifty) == len(one), [q["sql"] for q in fifty.captured_queries]


def test_warm_and_cold_cost_the_same(client_for, user, crowd):
    client = client_for(user)
    redis_client().delete(f"safety:sets:{user.pk}")
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
