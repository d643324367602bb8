"""Reads of notifications: only what the recipient may still see, with posts as the visibility rule shows them."""

from __future__ import annotations

from functools import cache

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from apps.common.prepared import Param, PreparedSource
from apps.posts.selectors import post_locked_expression, post_readable_q, post_visible_source
from apps.safety.selectors import exclude_filtered, filter_values, hidden_and_muted_accounts
from apps.users.models import User
from apps.users.serializers import author_card_columns

from .models import Notification


# The row, and what the page shows of its actor (the card: name and avatar): the whole user row is ~35 columns, a
# dozen of them timestamps, that every row would otherwise fetch, convert and instantiate. A deferred column is
# still loaded on access (one query), never wrong.
@cache
def _page_columns() -> tuple[str, ...]:
    # Built on first use: the avatar's columns are declared by the images app at start-up.
    return (
        # Every column of the row itself: a model without deferred fields is built faster.
        *(field.name for field in Notification._meta.concrete_fields),
        *author_card_columns("actor"),
    )


def _visible_source(user: User) -> PreparedSource:
    """The notifications `user` may still see, as a prepared source (apps.common.prepared)."""
    # One read of the viewer's cached block/mute sets for the whole query.
    hidden, muted = hidden_and_muted_accounts(user, notifications_only=True)
    posts = post_visible_source(viewer=user, page_extras=False, hidden=hidden)
    now = timezone.now()

    def build() -> QuerySet[Notification]:
        # Nothing from an account a block stands between, either way, nor from one muted with its notifications
        # (made before the block or mute or not: they come back if it ends).
        mine = Notification.objects.filter(recipient_id=Param("viewer", user.pk))
        mine = muted.exclude_from(hidden.exclude_from(mine, "actor_id"), "actor_id")
        # Nor about a post or comment the user's "notifications" keyword filters hide.
        # Only what the user may read: a locked premium post (or a comment under it) is never matched.
        readable = post_readable_q(user, prefix="post__")
        for text_ref in ("post__text", "comment__text"):
            mine = exclude_filtered(mine, user, context="notifications", text_ref=text_ref, readable=readable, now=now)
        # A post that was deleted takes its notifications with it (CASCADE); a removed or now-hidden one hides them.
        # Asked per row, by index, never as `post_id IN (every visible post)`, which builds the whole set. So a
        # scalar subquery, not EXISTS: PostgreSQL may run an EXISTS under OR as that hashed set (90 ms instead of
        # 0.5 for a page of likes among the benchmark's 20,000 posts).
        post_visible = Subquery(posts.queryset().filter(pk=OuterRef("post_id")).values(seen=Value(True))[:1])
        return (
            mine.filter(actor__is_active=True)
            .alias(post_visible=post_visible)
            .filter(Q(post__isnull=True) | Q(post_visible=True))
            .filter(Q(comment__isnull=True) | Q(comment__removed_at__isnull=True))
        )

    # `posts.key` holds the rule's shape: moderator or not, premium or not, how the hidden set is written.
    key = ("notifications.visible", *posts.key, muted.shape)
    values = {**posts.values, **hidden.values(), **muted.values(), **filter_values(user, now)}
    return PreparedSource(key=key, values=values, build=build)


def notification_list_source(*, user: User) -> PreparedSource:
    """The user's notifications, for the pagination (which orders them and cuts the page), with the actor (and
    avatar) joined and the annotations `post_text`, `comment_text` and `post_locked` (the visibility rule's lock
    for this user), None where the row has no post or comment. One query: the rule is only asked whether a post
    is visible (above); its text and lock come with the row's own join, as columns, not Post or Comment models."""

    def page(qs: QuerySet[Notification]) -> QuerySet[Notification]:
        return (
            qs.select_related("actor", "actor__avatar")
            .only(*_page_columns())
            .annotate(
                post_text=F("post__text"),
                comment_text=F("comment__text"),
                post_locked=post_locked_expression(user, prefix="post__"),
            )
        )

    return _visible_source(user).refine(("page",), {}, page)


def notification_unread_count(*, user: User) -> int:
    # Counted in SQL through the prepared source: every row is the user's, so grouping by recipient gives one row
    # holding the count (none when there is nothing to count).
    def unread(qs: QuerySet[Notification]) -> QuerySet:
        return (
            qs.filter(read=False)
            .order_by()
            .values("recipient_id")
            .annotate(count=Count("pk"))
            .values_list("count", flat=True)
        )

    counts = _visible_source(user).refine(("unread_count",), {}, unread).fetch()
    return counts[0] if counts else 0
