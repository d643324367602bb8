"""Redis or the broker gone: the API keeps answering (slower, without some extras), never a 500."""

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

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
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
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


@pytest.fixture
def broker_down(monkeypatch):
    """Publishing to the broker fails the way kombu fails when Redis is unreachable."""
    from celery.app.task import Task

    def refuse(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", refuse)
    return monkeypatch


def test_follow_succeeds_with_broker_down_and_a_retry_restores_the_backfill(
    client_for, broker_down, django_capture_on_commit_callbacks
):
    reader, author = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        old_post = post_create(author=author, text="from before the follow")
        response = client_for(reader).post(f"/users/{author.username}/follow/")
    assert response.status_code == 201  # committed, so it succeeded, even though the backfill was not enqueued
    assert Follow.objects.filter(follower=reader, followee=author).exists()

    broker_down.undo()  # the broker is back; the client retries, as clients do
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(reader).post(f"/users/{author.username}/follow/").status_code == 200
    feed = client_for(reader).get("/feed/").json()["results"]
    assert old_post.pk in [post["id"] for post in feed]


def test_post_and_like_succeed_with_broker_down(client_for, broker_down, django_capture_on_commit_callbacks):
    author, fan = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        created = client_for(author).post("/posts/", {"text": "still posting"}, format="json")
    assert created.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(fan).post(f"/posts/{created.json()['id']}/like/").status_code == 201


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
