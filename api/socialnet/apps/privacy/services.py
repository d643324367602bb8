"""Erasing a closed account for good, once its grace period has passed (API.md, Account lifecycle)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from apps.comments.models import Comment
from apps.comments.services import comment_delete
from apps.common.tasks import enqueue
from apps.feed.services import timeline_unmerge
from apps.follows.models import Follow
from apps.follows.services import follow_delete
from apps.images.models import Image
from apps.images.services import image_delete
from apps.interactions.models import Like
from apps.interactions.services import like_delete
from apps.notifications.services import notifications_delete_for_user
from apps.posts.models import Post
from apps.posts.services import post_delete
from apps.users.models import User
from apps.users.services import user_revoke_tokens

from . import tasks

logger = logging.getLogger(__name__)

BATCH = 200


def _in_batches(queryset):
    """Yield the rows of `queryset` batch after batch until none is left: each is deleted as it is handled, so
    re-querying (instead of one long cursor across many transactions) always sees what remains."""
    while batch := list(queryset[:BATCH]):
        yield from batch


def user_erase(*, user_id: int) -> bool:
    """Delete everything of the user that API.md lists: follows both ways, posts (with their images, files, likes
    and comments), comments, likes, images, notifications. Each piece goes through its app's service, one
    transaction each, so counters of other users are repaired as for any delete, erased posts leave every timeline,
    and files go after commit. Idempotent: a task that dies half-way is re-run and carries on. The user row stays,
    emptied, so the username stays taken (and moderation records keep their meaning). Returns False if there was
    nothing to erase (already erased, or unknown)."""
    user = User.objects.filter(pk=user_id, erased_at__isnull=True).first()
    if user is None:
        return False
    user_revoke_tokens(user=user)
    # Followers first, and their timelines purged here, while the posts still exist: the purge that a post delete
    # triggers runs later on the `follows` queue and finds its followers by the follow rows, gone by then.
    for follow in _in_batches(Follow.objects.filter(followee_id=user_id).select_related("follower").order_by("id")):
        follow_delete(follower=follow.follower, followee=user)
        timeline_unmerge(user_id=follow.follower_id, author_id=user_id)
    for post in _in_batches(Post.objects.filter(author_id=user_id).order_by("id")):
        post_delete(post=post, actor=user)
    for comment in _in_batches(Comment.objects.filter(author_id=user_id).select_related("post").order_by("id")):
        comment_delete(comment=comment, post=comment.post, actor=user)
    for like in _in_batches(Like.objects.filter(user_id=user_id).select_related("post").order_by("id")):
        like_delete(user=user, post=like.post)
    for follow in _in_batches(Follow.objects.filter(follower_id=user_id).select_related("followee").order_by("id")):
        follow_delete(follower=user, followee=follow.followee)
    for image in _in_batches(Image.objects.filter(owner_id=user_id).order_by("id")):
        image_delete(image=image)
    notifications_delete_for_user(user_id=user_id)
    with transaction.atomic():
        User.objects.filter(pk=user_id).update(
            email="",
            pending_email="",
            email_verified=False,
            first_name="",
            last_name="",
            bio="",
            avatar=None,
            premium_until=None,
            password=make_password(None),  # unusable: nobody signs in to an erased account
            is_active=False,
            last_login=None,
            followers_count=0,
            following_count=0,
            posts_count=0,
            erased_at=timezone.now(),
        )
    logger.info("privacy: erased user %s", user_id)
    return True


def users_erase_due(*, limit: int = 500) -> int:
    """Enqueue the erasure of every account closed more than ACCOUNT_DELETION_GRACE_DAYS ago; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)
    due = User.objects.filter(is_active=False, deletion_requested_at__lt=cutoff, erased_at__isnull=True).values_list(
        "id", flat=True
    )
    ids = list(due.order_by("deletion_requested_at")[:limit])
    for user_id in ids:
        enqueue(tasks.user_erase_task, user_id)
    return len(ids)
