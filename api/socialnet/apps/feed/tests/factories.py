"""Helpers for feed tests: build posts and follows through the real services, running their after-commit hooks
(fan-out, backfill, purge) eagerly, the way a worker would; and a spy on the commands sent to Redis."""

import redis

from apps.follows.services import follow_create, follow_delete
from apps.images.tests.factories import ImageFactory
from apps.posts.services import post_create, post_delete
from apps.users.models import User


def follow(capture, follower, followee):
    with capture(execute=True):
        follow_create(follower=follower, followee=followee)


def unfollow(capture, follower, followee):
    with capture(execute=True):
        follow_delete(follower=follower, followee=followee)


def publish(capture, author, text="hello", visibility="public"):
    with capture(execute=True):
        return post_create(author=author, text=text, visibility=visibility)


def delete(capture, post):
    with capture(execute=True):
        post_delete(post=post, actor=post.author)


def with_avatar(user):
    """Give the user a ready avatar: query-count tests must cover the author cards' images."""
    User.objects.filter(pk=user.pk).update(avatar=ImageFactory(owner=user, ready=True))
    user.refresh_from_db()
    return user


def with_image(post):
    """Attach a ready image to the post (locked posts must still not show it)."""
    ImageFactory(owner_id=post.author_id, post=post, ready=True)
    return post


def redis_reads(monkeypatch, *keys):
    """The commands sent to Redis from now on that name one of `keys` (filled in as they are sent)."""
    sent = []
    execute = redis.Redis.execute_command

    def spy(self, *args, **options):
        if any(key in args for key in keys):
            sent.append(args)
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy)
    return sent
