"""Every task's queue, and the one retry policy: timeline work on `follows`, media on `media`, the rest on
`default`; every task of ours is declared with apps.common.tasks.retrying_task."""

import pytest
from celery import current_app as app

from apps.common.tasks import RetryingTask


@pytest.fixture(scope="module", autouse=True)
def _tasks_loaded():
    app.loader.import_default_modules()


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("apps.feed.tasks.fanout_post_task", "follows"),
        ("apps.feed.tasks.fanout_post_batch_task", "follows"),
        ("apps.feed.tasks.fanout_remove_post_task", "follows"),
        ("apps.feed.tasks.fanout_remove_batch_task", "follows"),
        ("apps.feed.tasks.fanout_sweep_task", "follows"),
        ("apps.feed.tasks.timeline_backfill_task", "follows"),
        ("apps.feed.tasks.timeline_unmerge_task", "follows"),
        ("apps.images.tasks.image_process_task", "media"),
        ("apps.notifications.tasks.notification_follow_task", "default"),
        ("apps.notifications.tasks.notification_like_task", "default"),
        ("apps.notifications.tasks.notification_comment_task", "default"),
        ("apps.feed.tasks.trending_refresh_task", "default"),
        ("apps.follows.tasks.follows_counters_recount_task", "default"),
        ("apps.posts.tasks.posts_counters_recount_task", "default"),
    ],
)
def test_task_queue(task, queue):
    assert task in app.tasks
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_every_task_of_ours_has_the_retry_policy_and_late_acks():
    ours = {name: task for name, task in app.tasks.items() if name.startswith("apps.")}
    assert len(ours) >= 20
    for name, task in ours.items():
        assert isinstance(task, RetryingTask), f"{name} is not declared with retrying_task"
        assert task.acks_late is True and task.reject_on_worker_lost is True, name
        assert task.max_retries and task.retry_backoff, name


def test_periodic_jobs_are_scheduled_and_exist(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "apps.feed.tasks.trending_refresh_task",
        "apps.feed.tasks.fanout_sweep_task",
        "apps.posts.tasks.posts_counters_recount_task",
        "apps.comments.tasks.comments_counters_recount_task",
        "apps.interactions.tasks.likes_counters_recount_task",
        "apps.follows.tasks.follows_counters_recount_task",
    } <= scheduled
    assert scheduled <= set(app.tasks)
