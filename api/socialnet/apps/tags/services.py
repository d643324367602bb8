"""Every write to tags and mentions. Called through the posts/comments text hooks (apps.tags.apps), inside the
transaction that writes the text, so a post's tags and mentions exist as soon as the post does."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest, Lower

from apps.common.counters import count_of, recount_in_batches
from apps.posts.models import Post
from apps.safety.selectors import hidden_accounts
from apps.users.models import User

from . import signals
from .models import Mention, PostTag, Tag, TagFollow
from .parsing import parse, tag_key
from .selectors import TRENDING_CACHE_KEY, TRENDING_CACHE_SECONDS, trending_tags_compute


def tags_get_or_create(names: list[str]) -> list[Tag]:
    """The tags for `names`, created when new (a concurrent creator wins the name: first written), in order."""
    if not names:
        return []
    keys = [tag_key(name) for name in names]
    Tag.objects.bulk_create([Tag(name=n, key=k) for n, k in zip(names, keys, strict=True)], ignore_conflicts=True)
    by_key = {tag.key: tag for tag in Tag.objects.filter(key__in=keys)}
    return [by_key[key] for key in keys]


def _mentionable(*, author: User, usernames: list[str]) -> list[int]:
    """Active users named in `usernames`, in order, minus anyone a block stands between with the author (a block
    means neither can mention the other: the name stays plain text). Unknown names are plain text too."""
    if not usernames:
        return []
    qs = User.objects.annotate(lname=Lower("username")).filter(lname__in=usernames, is_active=True)
    found = dict(hidden_accounts(author).exclude_from(qs, "pk").values_list("lname", "pk"))
    return [found[name] for name in usernames if name in found]


def _set_mentions(*, owner: dict, user_ids: list[int]) -> list[int]:
    """Make the mention rows of one text (`owner`: {"post": p} or {"comment_id": id}) exactly `user_ids`; returns
    the users newly mentioned."""
    existing = set(Mention.objects.filter(**owner).values_list("user_id", flat=True))
    Mention.objects.filter(**owner).exclude(user_id__in=user_ids).delete()
    added = [uid for uid in user_ids if uid not in existing]
    Mention.objects.bulk_create([Mention(user_id=uid, **owner) for uid in added], ignore_conflicts=True)
    return added


def post_text_index(*, post: Post) -> None:
    """Tags and mentions of a post whose text was just written (created or edited): rows for what the text says
    now, and a `users_mentioned` event (after commit) for the users it newly names."""
    parsed = parse(post.text)
    tags = tags_get_or_create(parsed.tags)
    tag_ids = [tag.pk for tag in tags]
    PostTag.objects.filter(post=post).exclude(tag_id__in=tag_ids).delete()
    PostTag.objects.bulk_create([PostTag(post=post, tag_id=tid) for tid in tag_ids], ignore_conflicts=True)

    added = _set_mentions(owner={"post": post}, user_ids=_mentionable(author=post.author, usernames=parsed.mentions))
    if added:
        signals.users_mentioned.send(sender=Mention, post_id=post.pk, comment_id=None, user_ids=added)


def comment_text_index(*, comment_id: int, author: User, text: str) -> None:
    """Mentions of a comment whose text was just written (comments carry no tags: API.md tags posts only). By id:
    comments is a sibling of tags in the layers, so its model is not imported here."""
    user_ids = _mentionable(author=author, usernames=parse(text).mentions)
    added = _set_mentions(owner={"comment_id": comment_id}, user_ids=user_ids)
    if added:
        signals.users_mentioned.send(sender=Mention, post_id=None, comment_id=comment_id, user_ids=added)


def _count_followed_tags(*, user: User, change: int) -> None:
    # In the transaction of the row it counts, like the follow counters. Greatest: a count that drifted low (rows
    # written around this module) must not break the unfollow on the column's CHECK (>= 0).
    User.objects.filter(pk=user.pk).update(followed_tags_count=Greatest(F("followed_tags_count") + change, 0))


@transaction.atomic
def tag_follow(*, user: User, tag: Tag) -> bool:
    """Follow a tag; True when new (201), False when already followed (200)."""
    _, created = TagFollow.objects.get_or_create(user=user, tag=tag)
    if created:
        _count_followed_tags(user=user, change=1)
    return created


@transaction.atomic
def tag_unfollow(*, user: User, tag: Tag) -> None:
    deleted, _ = TagFollow.objects.filter(user=user, tag=tag).delete()
    if deleted:
        _count_followed_tags(user=user, change=-deleted)


def trending_tags_refresh() -> list[dict]:
    """Recompute the trending tags and cache them (beat, every few minutes)."""
    computed = trending_tags_compute()
    cache.set(TRENDING_CACHE_KEY, computed, TRENDING_CACHE_SECONDS)
    return computed


def tags_counters_recount(*, batch_size: int = 1000) -> int:
    """Repair `followed_tags_count` of every user from the tag-follow rows; returns users repaired. A count too low
    would leave followed tags' posts out of that reader's home feed (selectors.user_follows_tags), so it is repaired
    like every counter."""
    return recount_in_batches(User, {"followed_tags_count": count_of(TagFollow, "user")}, batch_size=batch_size)
