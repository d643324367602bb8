"""Hooks run after a comment write has committed (see apps.posts.events for the rules: ids only, cheap)."""

from apps.common.tasks import enqueue


def comment_created(comment_id: int) -> None:
    """A comment or reply was created (notifications: "comment" to the post author, "reply" to the parent's)."""
    from apps.notifications.tasks import notification_comment_task

    enqueue(notification_comment_task, comment_id)


def comment_deleted(comment_id: int, post_id: int) -> None:
    """A comment (and its replies) was deleted; the rows are gone."""
