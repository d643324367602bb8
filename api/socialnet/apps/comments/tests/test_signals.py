"""Comments announce new comments and replies through apps.comments.signals, in their transaction, ids only."""

import pytest

from apps.comments import signals
from apps.comments.services import comment_create, comment_delete
from apps.posts.services import post_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(user):
    return post_create(author=user, text="a post")


def test_comment_and_reply_are_announced_once_each(post, user, signal_spy, django_capture_on_commit_callbacks):
    spy = signal_spy.watch(("created", signals.comment_created))
    with django_capture_on_commit_callbacks():
        top = comment_create(post=post, author=user, text="top")
        reply = comment_create(post=post, author=user, text="reply", parent_id=top.pk)
    assert spy.sent == [("created", {"comment_id": top.pk}), ("created", {"comment_id": reply.pk})]
    with django_capture_on_commit_callbacks(execute=True):
        comment_delete(comment=reply, post=post, actor=user)
    assert len(spy.sent) == 2  # deleting is not a new comment
