"""Posts announce what happened through apps.posts.signals: in the change's transaction (so what receivers record
commits or rolls back with it), ids only, once per change."""

import pytest
from django.db import transaction

from apps.common.models import OutboxEvent
from apps.posts import signals
from apps.posts.models import Post
from apps.posts.services import post_create, post_delete, post_remove, post_update, posts_counters_recount
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spy(signal_spy):
    return signal_spy.watch(
        ("created", signals.post_created), ("deleted", signals.post_deleted), ("removed", signals.post_removed)
    )


def test_create_is_announced(user, spy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        post = post_create(author=user, text="hello")
    assert spy.sent == [("created", {"post_id": post.pk, "author_id": user.pk})]


def test_delete_and_moderation_removal_are_announced(user, spy, django_capture_on_commit_callbacks):
    moderator = UserFactory(moderator=True)
    deleted, removed = post_create(author=user, text="a"), post_create(author=user, text="b")
    spy.sent.clear()  # their creation
    with django_capture_on_commit_callbacks(execute=True):
        post_delete(post=deleted, actor=user)
        post_remove(post=removed, actor=moderator)
        post_remove(post=removed, actor=moderator)  # a second removal changes nothing and says nothing
    assert spy.sent == [
        ("deleted", {"post_id": deleted.pk, "author_id": user.pk}),
        ("removed", {"post_id": removed.pk, "author_id": user.pk}),
    ]


def test_an_edit_announces_nothing(user, spy, django_capture_on_commit_callbacks):
    post = post_create(author=user, text="hello")
    spy.sent.clear()  # its creation
    with django_capture_on_commit_callbacks(execute=True):
        post_update(post=post, actor=user, text="edited", visibility=Post.Visibility.FOLLOWERS)
    assert [name for name, _ in spy.sent] == []


def test_a_rolled_back_create_leaves_no_work(user, spy, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        post_create(author=user, text="never happened")
        assert OutboxEvent.objects.filter(task="apps.feed.tasks.fanout_post_task").exists()
        raise RuntimeError
    assert not OutboxEvent.objects.exists()  # the fan-out's row rolled back with the post
    assert callbacks == []
    assert not Post.objects.exists()
    user.refresh_from_db()
    assert user.posts_count == 0


def test_recount_repairs_posts_count(user):
    post_create(author=user, text="one")
    post_remove(post=post_create(author=user, text="removed"), actor=UserFactory(moderator=True))
    User.objects.filter(pk=user.pk).update(posts_count=9)
    assert posts_counters_recount() >= 1
    user.refresh_from_db()
    assert user.posts_count == 1  # removed posts are not counted
    assert posts_counters_recount() == 0
