"""Helpers for feed tests: build posts and follows through the real services, running their after-commit hooks
(fan-out, backfill, purge) eagerly, the way a worker would."""

from apps.follows.services import follow_create, follow_delete
from apps.posts.services import post_create, post_delete


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
