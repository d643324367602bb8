"""Reads of notifications: only what the recipient may still see, with posts as the visibility rule shows them."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from apps.posts.selectors import post_readable_q, post_visible_queryset
from apps.safety.selectors import exclude_filtered, hidden_accounts, muted_accounts
from apps.users.models import User

from .models import Notification


def _visible_to(user: User, visible_posts: QuerySet) -> QuerySet[Notification]:
    # Nothing from an account a block stands between, either way, nor from one muted with its notifications
    # (made before the block or mute or not: they come back if it ends).
    mine = hidden_accounts(user).exclude_from(Notification.objects.filter(recipient=user), "actor_id")
    mine = muted_accounts(user, notifications_only=True).exclude_from(mine, "actor_id")
    # Nor about a post or comment the user's "notifications" keyword filters hide.
    # Only what the user may read: a locked premium post (or a comment under it) is never matched.
    readable = post_readable_q(user, prefix="post__")
    mine = exclude_filtered(mine, user, context="notifications", text_ref="post__text", readable=readable)
    mine = exclude_filtered(mine, user, context="notifications", text_ref="comment__text", readable=readable)
    return (
        mine.filter(actor__is_active=True)
        # A post that was deleted takes its notifications with it (CASCADE); a removed or now-hidden one hides them.
        # Correlated (EXISTS per row), never `post_id IN (every visible post)`: that would build the whole set.
        .filter(Q(post__isnull=True) | Exists(visible_posts.filter(pk=OuterRef("post_id"))))
        .filter(Q(comment__isnull=True) | Q(comment__removed_at__isnull=True))
    )


def _visible_posts(user: User) -> QuerySet:
    # Only a post's text and lock are shown here: no images, tags or mentions to read with it.
    return post_visible_queryset(viewer=user, page_extras=False)


def notification_list(*, user: User) -> QuerySet[Notification]:
    """The user's notifications with actor, comment and the post (annotated `is_locked` for this user)."""
    # One visibility queryset for the filter and the prefetch: the rule is the page's costliest thing to build.
    visible_posts = _visible_posts(user)
    return (
        _visible_to(user, visible_posts)
        .select_related("actor", "actor__avatar", "comment")
        .prefetch_related(Prefetch("post", queryset=visible_posts))
    )


def notification_unread_count(*, user: User) -> int:
    return _visible_to(user, _visible_posts(user)).filter(read=False).count()
