"""Later features hook into posts, comments and likes through the events modules, strictly after commit."""

import pytest
from django.db import transaction

from apps.comments.services import comment_create, comment_delete
from apps.interactions.services import like_create, like_delete
from apps.posts.models import Post
from apps.posts.services import post_create, post_delete, post_update

pytestmark = pytest.mark.django_db


def test_every_write_schedules_its_hook_on_commit(user, other_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as created:
        post = post_create(author=user, text="hooked")
    with django_capture_on_commit_callbacks() as updated:
        post_update(post=post, actor=user, text="edited")
    with django_capture_on_commit_callbacks() as liked:
        like_create(user=other_user, post=post)
    with django_capture_on_commit_callbacks() as liked_again:
        like_create(user=other_user, post=post)
    with django_capture_on_commit_callbacks() as unliked:
        like_delete(user=other_user, post=post)
    with django_capture_on_commit_callbacks() as commented:
        comment = comment_create(post=post, author=other_user, text="hi")
    with django_capture_on_commit_callbacks() as uncommented:
        comment_delete(comment=comment, post=post, actor=other_user)
    with django_capture_on_commit_callbacks() as deleted:
        post_delete(post=post, actor=user)
    # At least one each: later features may add their own after-commit work next to the hook.
    assert all(len(c) >= 1 for c in (created, updated, liked, unliked, commented, uncommented, deleted))
    assert liked_again == []  # a repeated like is not an event


def test_rolled_back_writes_schedule_nothing(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        post_create(author=user, text="never happened")
        raise RuntimeError
    assert callbacks == []
    assert not Post.objects.exists()
    user.refresh_from_db()
    assert user.posts_count == 0
