"""The home timeline through a real Celery worker (Redis broker, `follows` queue), as in production: the API
enqueues after commit, the worker fans out, and followers see the post within seconds."""

import time

import pytest
from django.utils import timezone

from apps.common.testing.celery_worker import wait_until
from apps.feed import tasks
from apps.feed.timeline import timeline_client, timeline_key
from apps.users.tests.factories import UserFactory

pytestmark = [pytest.mark.worker]


def feed_ids(client):
    response = client.get("/feed/")
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def stored(user):
    return {int(m) for m in timeline_client().zrange(timeline_key(user.pk), 0, -1)} - {0}


def test_post_reaches_every_follower_through_the_worker(celery_worker, client_for):
    author = UserFactory(last_login=timezone.now())
    followers = [UserFactory(last_login=timezone.now()) for _ in range(3)]
    for f in followers:
        assert client_for(f).post(f"/users/{author.username}/follow/").status_code == 201
        feed_ids(client_for(f))  # a complete timeline: from here on only fan-out can add to it
    response = client_for(author).post("/posts/", {"text": "fresh"}, format="json")
    assert response.status_code == 201
    post_id = response.json()["id"]
    for f in followers:
        wait_until(lambda f=f: post_id in stored(f), timeout=5, message=f"fan-out to {f.username}")
        assert feed_ids(client_for(f))[0] == post_id


def test_follow_backfills_and_unfollow_and_delete_remove(celery_worker, client_for):
    me = UserFactory(last_login=timezone.now())
    author = UserFactory(last_login=timezone.now())
    author_client, client = client_for(author), client_for(me)
    old = author_client.post("/posts/", {"text": "before the follow"}, format="json").json()["id"]
    feed_ids(client)
    assert client.post(f"/users/{author.username}/follow/").status_code == 201
    wait_until(lambda: old in stored(me), timeout=5, message="backfill")
    new = author_client.post("/posts/", {"text": "after"}, format="json").json()["id"]
    wait_until(lambda: new in stored(me), timeout=5, message="fan-out")
    assert feed_ids(client) == [new, old]

    assert author_client.delete(f"/posts/{new}/").status_code == 204
    wait_until(lambda: new not in stored(me), timeout=5, message="purge of the deleted post")
    assert feed_ids(client) == [old]

    assert client.delete(f"/users/{author.username}/follow/").status_code == 204
    wait_until(lambda: not stored(me), timeout=5, message="unmerge after unfollow")
    assert feed_ids(client) == []


def test_retried_fanout_task_duplicates_nothing(celery_worker, client_for):
    author = UserFactory(last_login=timezone.now())
    me = UserFactory(last_login=timezone.now())
    client = client_for(me)
    client.post(f"/users/{author.username}/follow/")
    feed_ids(client)
    post_id = client_for(author).post("/posts/", {"text": "once"}, format="json").json()["id"]
    wait_until(lambda: post_id in stored(me), timeout=5, message="fan-out")
    size = timeline_client().zcard(timeline_key(me.pk))
    # As if the first delivery's write were lost and the message redelivered three times (acks_late).
    timeline_client().zrem(timeline_key(me.pk), str(post_id))
    for _ in range(3):
        tasks.fanout_post_task.delay(post_id)
    wait_until(lambda: post_id in stored(me), timeout=5, message="redelivered fan-out")
    time.sleep(0.5)  # let the other deliveries finish too
    assert timeline_client().zcard(timeline_key(me.pk)) == size
    assert feed_ids(client) == [post_id]
