"""A block racing a fan-out, through a real Celery worker: the blocked author's post never stays in the blocker's
timeline, whichever lands first."""

import time

import pytest
from django.utils import timezone

from apps.common.testing.celery_worker import wait_until
from apps.feed import selectors, tasks
from apps.feed.timeline import timeline_client, timeline_key
from apps.users.tests.factories import UserFactory

pytestmark = [pytest.mark.worker]


def stored(user):
    return {int(m) for m in timeline_client().zrange(timeline_key(user.pk), 0, -1)} - {0}


def test_a_fan_out_batch_in_flight_when_the_block_lands(celery_worker, client_for):
    author, me, bystander = (UserFactory(last_login=timezone.now()) for _ in range(3))
    for follower in (me, bystander):
        assert client_for(follower).post(f"/users/{author.username}/follow/").status_code == 201
        assert client_for(follower).get("/feed/").status_code == 200  # complete timelines
    post_id = client_for(author).post("/posts/", {"text": "racing"}, format="json").json()["id"]
    wait_until(lambda: post_id in stored(me) and post_id in stored(bystander), timeout=5, message="fan-out")
    # The same fan-out again, as a retried or late batch would run it: recipients computed before the block...
    batch = sorted([me.pk, bystander.pk])
    assert client_for(me).post(f"/users/{author.username}/block/").status_code == 201
    wait_until(lambda: post_id not in stored(me), timeout=5, message="purge after the block")
    timeline_client().zrem(timeline_key(bystander.pk), str(post_id))
    # ...pushed after it, by the worker.
    tasks.fanout_post_batch_task.delay(post_id, batch)
    wait_until(lambda: post_id in stored(bystander), timeout=5, message="the late batch")
    wait_until(lambda: post_id not in stored(me), timeout=5, message="the late batch undoing itself for the blocker")
    time.sleep(0.3)
    assert post_id not in stored(me)
    assert post_id in stored(bystander)
    assert selectors.fanout_recipients(author_id=author.pk) == [bystander.pk]
