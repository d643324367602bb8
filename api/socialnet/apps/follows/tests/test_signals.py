"""Follows announce `followed` (created or repeated) and `unfollowed` through apps.follows.signals, in their
transaction (the outbox rows receivers write commit or roll back with the follow)."""

import pytest
from django.db import transaction

from apps.common.models import OutboxEvent
from apps.follows import signals
from apps.follows.models import Follow
from apps.follows.services import follow_create, follow_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def spy(signal_spy):
    return signal_spy.watch(("followed", signals.followed), ("unfollowed", signals.unfollowed))


def test_follow_repeat_and_unfollow_are_announced(user, other_user, spy, django_capture_on_commit_callbacks):
    ids = {"follower_id": user.pk, "followee_id": other_user.pk}
    with django_capture_on_commit_callbacks():
        follow_create(follower=user, followee=other_user)
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=user, followee=other_user)
        follow_delete(follower=user, followee=other_user)
        follow_delete(follower=user, followee=other_user)  # nothing left to remove: nothing to announce
    assert spy.sent == [
        ("followed", {**ids, "created": True}),
        ("followed", {**ids, "created": False}),
        ("unfollowed", ids),
    ]


def test_a_rolled_back_follow_leaves_no_work(user, other_user, spy, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        follow_create(follower=user, followee=other_user)
        assert OutboxEvent.objects.exists()  # the receivers' work, in the follow's transaction...
        raise RuntimeError
    assert not OutboxEvent.objects.exists()  # ...gone with it
    assert callbacks == []  # and nothing was published
    assert not Follow.objects.exists()
