"""Hooks run after a post write has committed: the one place later features plug into post lifecycle events.

Services call these through `transaction.on_commit`, so a hook never sees (or announces) a rolled-back write.
They receive ids only, and must stay cheap: enqueue a task (`enqueue()`), never do the work inline.
"""

from apps.common.tasks import enqueue


def post_created(post_id: int) -> None:
    """A post was created (feed: fan the post out to followers' timelines)."""
    from apps.feed.tasks import fanout_post_task

    enqueue(fanout_post_task, post_id)


def post_updated(post_id: int) -> None:
    """A post's text or visibility changed (feed: a visibility change may add/remove it from timelines)."""


def post_deleted(post_id: int, author_id: int) -> None:
    """A post was deleted; the row is gone (feed: purge it from timelines; caches keyed by post id)."""
    from apps.feed.tasks import fanout_remove_post_task

    enqueue(fanout_remove_post_task, post_id, author_id)
