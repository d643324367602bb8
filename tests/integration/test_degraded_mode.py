"""Redis or the broker gone: the API keeps answering (slower, without some extras), never a 500."""

import pytest
from django.utils import timezone

from apps.common.models import OutboxEvent
from apps.common.outbox import outbox_sweep
from apps.follows.models import Follow
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory

DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = DEAD
    settings.FEED_REDIS_URL = DEAD
    settings.CACHES = {
        "default": {
            "BACKEND": "apps.common.cache.RedisCache",
            "LOCATION": DEAD,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


@pytest.mark.parametrize(
    "path",
    ["/feed/", "/feed/recommended/", "/feed/trending/", "/notifications/", "/users/suggestions/", "/posts/"],
)
def test_reads_answer_with_redis_down(client_for, redis_down, path):
    reader = UserFactory(last_login=timezone.now())
    assert client_for(reader).get(path).status_code == 200


def test_anonymous_reads_and_signup_answer_with_redis_down(api_client, redis_down):
    assert api_client.get("/feed/trending/").status_code == 200
    body = {"username": "stillworks", "email": "stillworks@example.com", "password": "plum-tangerine-87"}
    assert api_client.post("/users/create/", body, format="json").status_code == 201


def test_a_follow_whose_work_never_reached_the_broker_is_completed_by_the_outbox_sweep(
    client_for, django_capture_on_commit_callbacks
):
    # The after-commit relay is lost (captured and dropped: the broker was down); the request succeeded anyway, and
    # the backfill is an outbox row of the follow's transaction, which the sweep relays. (tests/integration/
    # test_outbox.py does the same against a real unreachable broker.)
    reader, author = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        old_post = post_create(author=author, text="from before the follow")
    with django_capture_on_commit_callbacks(execute=False):
        assert client_for(reader).post(f"/users/{author.username}/follow/").status_code == 201
    assert Follow.objects.filter(follower=reader, followee=author).exists()

    OutboxEvent.objects.update(relay_after=timezone.now())
    assert outbox_sweep() >= 1
    feed = client_for(reader).get("/feed/").json()["results"]
    assert old_post.pk in [post["id"] for post in feed]


def test_unfollowing_a_suspended_account_is_204(client_for, moderator):
    from apps.moderation.services import user_suspend

    reader, author = UserFactory(), UserFactory()
    Follow.objects.create(follower=reader, followee=author)
    user_suspend(user=author, actor=moderator)
    client = client_for(reader)
    assert client.delete(f"/users/{author.username}/follow/").status_code == 204
    assert client.delete(f"/users/{author.username}/follow/").status_code == 204
    assert not Follow.objects.filter(follower=reader, followee=author).exists()
    assert client.delete("/users/nobody-at-all/follow/").status_code == 404
