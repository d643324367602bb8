"""Every write to posts. Counters move in the same transaction as the row that justifies them."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.comments.models import Comment
from apps.follows.models import Follow
from apps.images.services import images_attach_to_post, images_delete_for_post
from apps.interactions.models import Like
from apps.users.models import User

from . import events
from .models import Post
from .selectors import post_has_images


def _validate_text(text: str) -> None:
    if len(text) > Post.TEXT_MAX_LENGTH:
        raise ValidationError({"text": [f"Ensure this field has no more than {Post.TEXT_MAX_LENGTH} characters."]})


def post_can_edit(*, post: Post, actor: User) -> bool:
    return actor.is_authenticated and post.author_id == actor.pk


def post_can_delete(*, post: Post, actor: User) -> bool:
    return actor.is_authenticated and (post.author_id == actor.pk or actor.is_moderator)


@transaction.atomic
def post_create(
    *,
    author: User,
    text: str,
    visibility: str = Post.Visibility.PUBLIC,
    image_ids: Sequence[int] = (),
) -> Post:
    """Create a post and count it on the author's profile.

    `image_ids` (at most 10, the author's own, not failed, not attached elsewhere) are attached in this
    transaction with their rows locked; any bad id rolls the whole post back with a 400.
    """
    if visibility not in Post.Visibility.values:
        raise ValidationError({"visibility": [f'"{visibility}" is not a valid choice.']})
    _validate_text(text)
    if not text and not image_ids:
        raise ValidationError({"text": ["A post needs text or at least one image."]})

    post = Post.objects.create(author=author, text=text, visibility=visibility)
    images_attach_to_post(post=post, image_ids=image_ids)
    User.objects.filter(pk=author.pk).update(posts_count=F("posts_count") + 1)

    # ---- after commit: fan-out and anything else reacting to a new post (apps.posts.events). ----
    post_id = post.pk
    transaction.on_commit(lambda: events.post_created(post_id))
    return post


@transaction.atomic
def post_update(*, post: Post, actor: User, text: str | None = None, visibility: str | None = None) -> Post:
    """Author-only edit of text and/or visibility; stamps `edited_at`."""
    if not post_can_edit(post=post, actor=actor):
        raise PermissionDenied("Only the author may edit this post.")
    fields = ["edited_at", "updated_at"]
    if text is not None:
        _validate_text(text)
        if not text and not post_has_images(post=post):
            raise ValidationError({"text": ["A post without images needs text."]})
        post.text = text
        fields.append("text")
    if visibility is not None:
        if visibility not in Post.Visibility.values:
            raise ValidationError({"visibility": [f'"{visibility}" is not a valid choice.']})
        post.visibility = visibility
        fields.append("visibility")
    post.edited_at = timezone.now()
    post.save(update_fields=fields)

    post_id = post.pk
    transaction.on_commit(lambda: events.post_updated(post_id))
    return post


@transaction.atomic
def post_delete(*, post: Post, actor: User) -> None:
    """Delete a post with its likes and comments (author, moderator or admin) and uncount it."""
    if not post_can_delete(post=post, actor=actor):
        raise PermissionDenied("You may not delete this post.")
    # Lock first: a like or comment racing with the delete then waits and finds the post gone, instead of
    # inserting a row that points at a post deleted under it.
    locked = Post.objects.select_for_update().filter(pk=post.pk).values_list("pk", "author_id", "removed_at").first()
    if locked is None:
        return  # deleted concurrently: nothing left to do, nothing to uncount twice
    post_id, author_id, removed_at = locked
    images_delete_for_post(post_id=post_id)  # rows now, files after commit
    Post.objects.filter(pk=post_id).delete()
    if removed_at is None:  # a post removed by moderation was already uncounted
        User.objects.filter(pk=author_id).update(posts_count=Greatest(F("posts_count") - 1, 0))

    # ---- after commit: purge from timelines and anything else reacting to a deleted post. ----
    transaction.on_commit(lambda: events.post_deleted(post_id, author_id))


@transaction.atomic
def post_remove(*, post: Post, actor: User) -> Post:
    """Moderation: hide a post from every path but keep the row for the record (reports point at it)."""
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators may remove posts.")
    updated = Post.objects.filter(pk=post.pk, removed_at__isnull=True).update(removed_at=timezone.now())
    if updated:  # only the first removal uncounts, however many moderators click at once
        User.objects.filter(pk=post.author_id).update(posts_count=Greatest(F("posts_count") - 1, 0))
        post_id, author_id = post.pk, post.author_id
        # Same effect on timelines as a delete: the post must leave every feed.
        transaction.on_commit(lambda: events.post_deleted(post_id, author_id))
    post.refresh_from_db(fields=["removed_at"])
    return post


def _count_of(model, fk: str, **filters) -> Coalesce:
    rows = model.objects.filter(**{fk: OuterRef("pk")}, **filters).order_by().values(fk)
    return Coalesce(Subquery(rows.annotate(n=Count("*")).values("n")[:1]), 0, output_field=IntegerField())


def _recount_in_batches(model, expected: dict, *, batch_size: int) -> int:
    """Set each counter field of `model` to the count in `expected` where they differ; returns rows repaired.

    Per batch: lock the rows first (FOR NO KEY UPDATE), then count in a later statement. A concurrent writer
    that inserted a like/comment but has not yet bumped the counter waits on our lock and bumps it after we
    wrote the count without its row; one that already bumped it has committed before we got the lock, and
    our count (a fresh snapshot) includes its row. Either way the result is exact, never a lost update.
    """
    repaired = 0
    last_pk = 0
    fields = list(expected)
    while True:
        with transaction.atomic():
            pks = list(
                model.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                return repaired
            last_pk = pks[-1]
            rows = model.objects.filter(pk__in=pks).annotate(**{f"real_{f}": expr for f, expr in expected.items()})
            stale = []
            for row in rows.only("pk", *fields):
                changed = False
                for field in fields:
                    real = getattr(row, f"real_{field}")
                    if getattr(row, field) != real:
                        setattr(row, field, real)
                        changed = True
                if changed:
                    stale.append(row)
            if stale:
                model.objects.bulk_update(stale, fields)
                repaired += len(stale)


def counters_recount(*, batch_size: int = 1000) -> dict[str, int]:
    """Repair every denormalised counter of posts, comments and profiles from the rows they count.

    Counted rows: likes; comments (replies included) and direct replies that are not removed; posts not removed;
    follows in both directions.
    """
    return {
        "posts": _recount_in_batches(
            Post,
            {
                "likes_count": _count_of(Like, "post"),
                "comments_count": _count_of(Comment, "post", removed_at__isnull=True),
            },
            batch_size=batch_size,
        ),
        "comments": _recount_in_batches(
            Comment, {"replies_count": _count_of(Comment, "parent", removed_at__isnull=True)}, batch_size=batch_size
        ),
        "users": _recount_in_batches(
            User,
            {
                "posts_count": _count_of(Post, "author", removed_at__isnull=True),
                "followers_count": _count_of(Follow, "followee"),
                "following_count": _count_of(Follow, "follower"),
            },
            batch_size=batch_size,
        ),
    }
