"""Home timelines react to posts and follows. Each receiver only enqueues a task on the `follows` queue; the tasks
(apps.feed.tasks) do the Redis writes, idempotently."""

from django.dispatch import receiver

from apps.common.tasks import enqueue
from apps.follows.signals import followed, unfollowed
from apps.posts.signals import post_created, post_deleted, post_removed
from apps.safety.signals import blocked

from .tasks import fanout_post_task, fanout_remove_post_task, timeline_backfill_task, timeline_unmerge_task


@receiver(post_created, dispatch_uid="feed.fan_out")
def fan_out_new_post(sender, *, post_id: int, **kwargs) -> None:
    enqueue(fanout_post_task, post_id)


@receiver(post_deleted, dispatch_uid="feed.purge_deleted")
@receiver(post_removed, dispatch_uid="feed.purge_removed")
def purge_post_from_timelines(sender, *, post_id: int, author_id: int, **kwargs) -> None:
    enqueue(fanout_remove_post_task, post_id, author_id)


@receiver(followed, dispatch_uid="feed.backfill")
def backfill_followed_author(sender, *, follower_id: int, followee_id: int, **kwargs) -> None:
    # Also on a repeated follow (`created=False`): the backfill is idempotent and the first one may have been lost.
    enqueue(timeline_backfill_task, follower_id, followee_id)


@receiver(unfollowed, dispatch_uid="feed.unmerge")
def unmerge_unfollowed_author(sender, *, follower_id: int, followee_id: int, **kwargs) -> None:
    enqueue(timeline_unmerge_task, follower_id, followee_id)


@receiver(blocked, dispatch_uid="feed.purge_blocked")
def purge_blocked_timelines(sender, *, blocker_id: int, blocked_id: int, **kwargs) -> None:
    # The block removed the follows both ways in its transaction, so unmerging each from the other's timeline is
    # exactly the purge (and idempotent: also redone on a repeated block). The read path filters blocked authors
    # anyway, so a fan-out racing this purge can leave an id in Redis but never show the post.
    enqueue(timeline_unmerge_task, blocker_id, blocked_id)
    enqueue(timeline_unmerge_task, blocked_id, blocker_id)
