"""Follows announce `followed` (created or repeated) and `unfollowed` through apps.follows.signals, after commit."""

import pytest
from django.db import transaction

from apps.follows import signals
from apps.follows.services import follow_create, follow_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def spy(signal_spy):
    return signal_spy.watch(("followed", signals.followed), ("unfollowed", signals.unfollowed))


def test_follow_repeat_and_unfollow_are_announced(user, other_user, spy, django_capture_on_commit_callbacks):
    ids = {"follower_id": user.pk, "followee_id": other_user.pk}
    with django_capture_on_commit_callbacks() as callbacks:
        follow_create(follower=user, followee=other_user)
    assert spy.sent == []  # not before the commit
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=user, followee=other_user)
        follow_delete(follower=user, followee=other_user)
        follow_delete(follower=user, followee=other_user)  # nothing left to remove: nothing to announce
    assert spy.sent == [
        ("followed", {**ids, "created": True}),
        ("followed", {**ids, "created": False}),
        ("unfollowed", ids),
    ]


def test_a_rolled_back_follow_announces_nothing(user, other_user, spy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        follow_create(follower=user, followee=other_user)
        raise RuntimeError
    assert spy.sent == []
