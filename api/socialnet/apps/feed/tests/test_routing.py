"""Timeline and follow work runs on the `follows` queue, notifications and rankings on `default`."""

import pytest

from config.celery import app


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
        ("apps.follows.tasks.follow_notify_task", "follows"),
        ("apps.notifications.tasks.notification_like_task", "default"),
        ("apps.notifications.tasks.notification_comment_task", "default"),
        ("apps.feed.tasks.trending_refresh_task", "default"),
    ],
)
def test_task_queue(task, queue):
    app.loader.import_default_modules()
    assert task in app.tasks
    assert app.amqp.router.route({}, task)["queue"].name == queue
    assert app.tasks[task].acks_late is True


def test_periodic_jobs_are_scheduled(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"apps.feed.tasks.trending_refresh_task", "apps.feed.tasks.fanout_sweep_task"} <= tasks
