import pytest
from django.utils import timezone

from apps.feed.timeline import timeline_client, timeline_key
from apps.users.tests.factories import UserFactory


@pytest.fixture
def active_user(db):
    """A user seen recently: fan-out writes to their timeline (unlike a long-absent one)."""

    def make(**kwargs):
        return UserFactory(last_login=timezone.now(), **kwargs)

    return make


@pytest.fixture
def timeline_ids():
    """timeline_ids(user) -> the post ids stored in the user's Redis timeline (sentinel excluded)."""

    def read(user):
        members = timeline_client().zrange(timeline_key(user.pk), 0, -1)
        return {int(m) for m in members} - {0}

    return read


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    """Short name: `with oncommit(execute=True):` runs after-commit hooks as a real commit would."""
    return django_capture_on_commit_callbacks
