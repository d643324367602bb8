"""The cached safety sets on their own: invalidation that a racing rebuild cannot undo, one rebuild per miss,
expiry inside the cache, and Redis down (the subquery form answers the same)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.redis import redis_client
from apps.safety import cache, selectors
from apps.safety.services import block_create, block_delete, mute_delete, mute_set
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


def cached(user):
    return redis_client().get(f"safety:sets:{user.pk}")


def forget(user):
    redis_client().delete(f"safety:sets:{user.pk}")


def test_writes_tombstone_both_sides_inside_the_transaction(user, other_user):
    selectors.safety_sets_rebuild(user_id=user.pk)
    assert cached(user) not in (None, cache.TOMBSTONE)
    block_create(blocker=user, blocked=other_user)  # the test's transaction never commits: this is the inner one
    assert cached(user) == cache.TOMBSTONE
    assert cached(other_user) == cache.TOMBSTONE
    assert 0 < redis_client().ttl(f"safety:sets:{user.pk}") <= cache.TOMBSTONE_TTL
    assert other_user.pk in selectors.hidden_accounts(user)  # subquery form meanwhile
    assert user.pk in selectors.hidden_accounts(other_user)


def test_a_rebuild_that_read_before_the_block_cannot_store_its_stale_set(user, other_user):
    stale = selectors._load_sets(user.pk)  # a rebuild task read PostgreSQL...
    block_create(blocker=user, blocked=other_user)  # ...then the block committed...
    assert cache.sets_store(user.pk, stale) is False  # ...and the stale set is refused (the tombstone is there)
    assert other_user.pk in selectors.hidden_accounts(user)
    forget(user)  # the tombstone expired: rebuilds store again, and they read after the commit
    assert selectors.safety_sets_rebuild(user_id=user.pk)
    assert other_user.pk in selectors.hidden_accounts(user).ids


def test_unblock_and_unmute_invalidate_too(user, other_user):
    block_create(blocker=user, blocked=other_user)
    mute_set(muter=user, muted=UserFactory())
    forget(user)
    assert selectors.safety_sets_rebuild(user_id=user.pk)
    assert other_user.pk in selectors.hidden_accounts(user).ids
    block_delete(blocker=user, blocked=other_user)
    assert other_user.pk not in selectors.hidden_accounts(user)
    forget(user)
    assert selectors.safety_sets_rebuild(user_id=user.pk)
    assert len(selectors.muted_accounts(user).ids) == 1
    mute = user.mutes_made.get()
    mute_delete(muter=user, muted=mute.muted)
    assert mute.muted_id not in selectors.muted_accounts(user)


def test_a_miss_queues_one_rebuild_after_commit(user, other_user, django_capture_on_commit_callbacks):
    block_create(blocker=other_user, blocked=user)
    forget(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        selectors.hidden_accounts(user)
        selectors.muted_accounts(user)  # several reads of one request: one rebuild
    assert len(callbacks) == 1
    callbacks[0]()  # tasks run eagerly in tests
    assert other_user.pk in selectors.hidden_accounts(user).ids
    assert cached(user) not in (None, cache.TOMBSTONE)


def test_hidden_and_muted_from_one_read_are_the_two_sets(user, other_user):
    block_create(blocker=user, blocked=other_user)
    loud, quiet = UserFactory(), UserFactory()
    mute_set(muter=user, muted=loud, notifications=False)
    mute_set(muter=user, muted=quiet, notifications=True)
    for warm in (False, True):
        if warm:
            forget(user)
            assert selectors.safety_sets_rebuild(user_id=user.pk)
        for notifications_only in (False, True):
            hidden, muted = selectors.hidden_and_muted_accounts(user, notifications_only=notifications_only)
            assert (hidden.shape, muted.shape) == (("ids", "ids") if warm else ("subqueries", "subqueries"))
            assert other_user.pk in hidden and loud.pk not in hidden
            assert quiet.pk in muted and (loud.pk in muted) is not notifications_only
            assert muted.name == selectors.muted_accounts(user, notifications_only=notifications_only).name


def test_cached_mutes_carry_their_expiry():
    now = timezone.now()
    sets = cache.SafetySets(
        hidden=frozenset(),
        mutes=((1, None, True), (2, (now + timedelta(seconds=60)).timestamp(), False), (3, now.timestamp() - 1, True)),
    )
    assert sets.muted(now=now) == {1, 2}
    assert sets.muted(now=now, notifications_only=True) == {1}
    assert sets.muted(now=now + timedelta(seconds=61)) == {1}
    assert cache._decode(cache._encode(sets).encode()) == sets


def test_anonymous_has_empty_sets():
    from django.contrib.auth.models import AnonymousUser

    assert selectors.hidden_accounts(AnonymousUser()).is_empty
    assert selectors.muted_accounts(AnonymousUser()).is_empty


def test_redis_down_answers_from_postgres(user, other_user, settings):
    block_create(blocker=other_user, blocked=user)
    settings.REDIS_URL = DEAD_REDIS
    hidden = selectors.hidden_accounts(user)
    assert hidden.ids == frozenset() and other_user.pk in hidden
    assert cache.sets_store(user.pk, selectors._load_sets(user.pk)) is False  # logged, not raised
    block_delete(blocker=other_user, blocked=user)  # writes still work: the tombstone is best effort
    assert other_user.pk not in selectors.hidden_accounts(user)
