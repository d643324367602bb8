"""A first like is announced through apps.interactions.signals in its transaction; a repeat or an unlike is not."""

import pytest

from apps.interactions import signals
from apps.interactions.services import like_create, like_delete
from apps.posts.services import post_create

pytestmark = pytest.mark.django_db


def test_only_a_first_like_is_announced(user, other_user, signal_spy, django_capture_on_commit_callbacks):
    post = post_create(author=user, text="likeable")
    spy = signal_spy.watch(("liked", signals.post_liked))
    with django_capture_on_commit_callbacks():
        like, created = like_create(user=other_user, post=post)
    assert created
    assert spy.sent == [("liked", {"like_id": like.pk})]
    with django_capture_on_commit_callbacks(execute=True):
        like_create(user=other_user, post=post)
        like_delete(user=other_user, post=post)
    assert len(spy.sent) == 1
