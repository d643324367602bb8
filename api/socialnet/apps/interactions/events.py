"""Hooks run after a like write has committed (see apps.posts.events for the rules: ids only, cheap)."""

from apps.common.tasks import enqueue


def post_liked(like_id: int) -> None:
    """A user liked a post for the first time (notifications: "like" to the author; recommendations)."""
    from apps.notifications.tasks import notification_like_task

    enqueue(notification_like_task, like_id)


def post_unliked(post_id: int, user_id: int) -> None:
    """A like was withdrawn; the row is gone."""
