"""A comment deleted while its notification task runs: the task stops quietly (no error, no retry, no row).

The interleaving is made deterministic with PostgreSQL itself: the deleting transaction is held open, the task reads
the comment (still visible), and its insert then waits on the comment's row lock until the delete commits."""

import logging
import threading

import pytest
from django.db import connection, connections, transaction

from apps.comments.services import comment_create, comment_delete
from apps.common.testing.celery_worker import wait_until
from apps.notifications.models import Notification
from apps.notifications.tasks import notification_comment_task
from apps.posts.tests.factories import PostFactory


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_comment_deleted_while_its_task_runs_stops_the_task_quietly(user, other_user, caplog):
    post = PostFactory(author=user)
    comment = comment_create(post=post, author=other_user, text="soon gone")
    Notification.objects.all().delete()  # the eager task of the creation; this test runs the task itself
    deleting, finish_delete, outcome = threading.Event(), threading.Event(), {}

    def delete_and_hold():
        try:
            with transaction.atomic():
                comment_delete(comment=comment, post=post, actor=other_user)
                deleting.set()
                finish_delete.wait(10)
        finally:
            connections.close_all()

    def run_task():
        try:
            notification_comment_task.apply(args=[comment.pk], throw=True)
            outcome["ok"] = True
        except Exception as exc:  # what used to happen: IntegrityError, then retries
            outcome["error"] = exc
        finally:
            connections.close_all()

    deleter = threading.Thread(target=delete_and_hold)
    deleter.start()
    assert deleting.wait(10)
    task = threading.Thread(target=run_task)
    with caplog.at_level(logging.WARNING):
        task.start()
        wait_until(_waiting_on_a_lock, message="the task's insert to wait for the delete's row lock")
        finish_delete.set()  # the delete commits while the task is between reading the comment and its insert
        deleter.join(10)
        task.join(10)
    assert outcome == {"ok": True}
    assert not Notification.objects.exists()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
