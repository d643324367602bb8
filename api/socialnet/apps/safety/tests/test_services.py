"""Block and mute services on their own (the endpoints and the leak matrix are in tests/integration)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.safety.models import Block, KeywordFilter, Mute
from apps.safety.services import MUTE_MAX_DURATION, block_create, keyword_filter_create, mute_set
from apps.safety.tasks import safety_expired_purge_task
from apps.users.models import User

pytestmark = pytest.mark.django_db


def _follow(a: User, b: User) -> None:
    # Through the relation the follows app declares on User, with its counters: safety tests never import follows.
    a.following_set.create(followee=b)
    User.objects.filter(pk=a.pk).update(following_count=a.following_count + 1)
    User.objects.filter(pk=b.pk).update(followers_count=b.followers_count + 1)
    a.refresh_from_db()
    b.refresh_from_db()


def test_block_removes_follows_both_ways_and_counts_them(user, other_user):
    _follow(user, other_user)
    _follow(other_user, user)
    block, created = block_create(blocker=user, blocked=other_user)
    assert created
    assert not user.following_set.exists() and not other_user.following_set.exists()
    for u in (user, other_user):
        u.refresh_from_db()
        assert (u.followers_count, u.following_count) == (0, 0)
    assert block_create(blocker=user, blocked=other_user) == (block, False)


def test_counters_never_go_negative(user, other_user):
    user.following_set.create(followee=other_user)  # a row the counters never saw (an old drift)
    block_create(blocker=other_user, blocked=user)
    user.refresh_from_db()
    other_user.refresh_from_db()
    assert (user.following_count, other_user.followers_count) == (0, 0)


def test_self_block_and_self_mute_are_refused(user):
    with pytest.raises(ValidationError):
        block_create(blocker=user, blocked=user)
    with pytest.raises(ValidationError):
        mute_set(muter=user, muted=user)
    assert not Block.objects.exists() and not Mute.objects.exists()


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=-1), MUTE_MAX_DURATION + timedelta(seconds=1)])
def test_mute_durations_out_of_range_are_refused(user, other_user, duration):
    with pytest.raises(ValidationError):
        mute_set(muter=user, muted=other_user, duration=duration)
    assert not Mute.objects.exists()


def test_remuting_updates_and_an_expired_mute_counts_as_new(user, other_user):
    assert mute_set(muter=user, muted=other_user, duration=timedelta(hours=1))[1] is True
    mute, created = mute_set(muter=user, muted=other_user, notifications=False)
    assert created is False and mute.expires_at is None and mute.notifications is False
    Mute.objects.update(expires_at=mute.created_at)
    assert mute_set(muter=user, muted=other_user)[1] is True
    assert Mute.objects.count() == 1


def test_expired_mutes_and_filters_are_purged(user, other_user):
    live = mute_set(muter=user, muted=other_user, duration=timedelta(hours=1))[0]
    gone = mute_set(muter=other_user, muted=user, duration=timedelta(hours=1))[0]
    Mute.objects.filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    kept = keyword_filter_create(owner=user, data={"phrase": "a", "context": ["home"]})
    old = keyword_filter_create(owner=user, data={"phrase": "b", "context": ["home"]})
    KeywordFilter.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert safety_expired_purge_task.apply().get() == 2
    assert list(Mute.objects.all()) == [live]
    assert list(KeywordFilter.objects.all()) == [kept]
    assert safety_expired_purge_task.apply().get() == 0
