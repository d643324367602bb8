"""Erasing a closed account for good, once its grace period has passed (API.md, Account lifecycle)."""

import logging
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import Throttled

from apps.comments.models import Comment
from apps.comments.services import comment_delete
from apps.common.tasks import enqueue
from apps.feed.services import timeline_unmerge
from apps.follows.models import Follow, FollowRequest
from apps.follows.services import follow_delete, follow_request_reject
from apps.images.models import Image
from apps.images.services import image_delete
from apps.interactions.models import Like
from apps.interactions.services import like_delete
from apps.moderation.models import ModerationAction, TargetType
from apps.notifications.services import notifications_delete_for_user
from apps.posts.models import Post
from apps.posts.services import post_delete
from apps.safety.models import Block, KeywordFilter, Mute
from apps.safety.services import block_delete, keyword_filter_delete, mute_delete
from apps.users.models import User
from apps.users.services import user_revoke_tokens

from . import tasks
from .export import data_export_write
from .models import DataExport

logger = logging.getLogger(__name__)

BATCH = 200


def _in_batches(queryset):
    """Yield the rows of `queryset` batch after batch until none is left: each is deleted as it is handled, so
    re-querying (instead of one long cursor across many transactions) always sees what remains."""
    while batch := list(queryset[:BATCH]):
        yield from batch


def user_erase(*, user_id: int) -> bool:
    """Delete everything of the user that API.md lists: follows and follow requests both ways, posts (with their
    images, files, likes and comments), comments, likes, images, blocks, mutes, keyword filters, notifications,
    data exports. Each piece goes through its app's service, one
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
    # Follow requests both ways: the user's own, and those waiting for their approval (nobody is left to decide).
    for request in _in_batches(
        FollowRequest.objects.filter(requester_id=user_id).select_related("target").order_by("id")
    ):
        follow_request_reject(target=request.target, requester=user)
    for request in _in_batches(
        FollowRequest.objects.filter(target_id=user_id).select_related("requester").order_by("id")
    ):
        follow_request_reject(target=user, requester=request.requester)
    # The user's blocks, mutes and filters. Blocks *of* the user stay: they are the other person's data.
    for block in _in_batches(Block.objects.filter(blocker_id=user_id).select_related("blocked").order_by("id")):
        block_delete(blocker=user, blocked=block.blocked)
    for mute in _in_batches(Mute.objects.filter(muter_id=user_id).select_related("muted").order_by("id")):
        mute_delete(muter=user, muted=mute.muted)
    for keyword_filter in _in_batches(KeywordFilter.objects.filter(owner_id=user_id).order_by("id")):
        keyword_filter_delete(keyword_filter=keyword_filter)
    notifications_delete_for_user(user_id=user_id)
    _data_exports_delete(DataExport.objects.filter(user_id=user_id))
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


def user_erase_now(*, user: User, reason: str, actor: User | None = None) -> None:
    """Staff handling a legal request: erase at once, without the grace period. The decision is recorded in the
    moderation log first (who, why), so the record exists even if the erasure has to be resumed."""
    with transaction.atomic():
        ModerationAction.objects.create(
            actor=actor,
            action=ModerationAction.Action.ERASE_USER,
            target_type=TargetType.USER,
            target_id=user.pk,
            reason=reason,
        )
        User.objects.filter(pk=user.pk).update(is_active=False)  # hidden and refused from now on
    user_erase(user_id=user.pk)


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


# --- Data export ------------------------------------------------------------------------------------------------
EXPORT_EVERY = timedelta(hours=24)
_EXPORT_SALT = "apps.privacy.data-export"


def _export_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_EXPORT_SALT, sep=".")  # "." keeps the token URL-safe


def data_export_request(*, user: User) -> DataExport:
    """Start an export: one per EXPORT_EVERY (a failed one does not count); Throttled (429) before that."""
    with transaction.atomic():
        # The user's row lock makes two simultaneous requests of one user take turns: one export, one 429.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        latest = (
            DataExport.objects.filter(user=user)
            .exclude(status=DataExport.Status.FAILED)
            .order_by("-created_at")
            .first()
        )
        now = timezone.now()
        if latest is not None and latest.created_at > now - EXPORT_EVERY:
            wait = (latest.created_at + EXPORT_EVERY - now).total_seconds()
            raise Throttled(wait=wait, detail="One data export per 24 hours.")
        export = DataExport.objects.create(user=user)
        enqueue(tasks.data_export_build_task, export.pk)
    return export


def data_export_latest(*, user: User) -> DataExport | None:
    return DataExport.objects.filter(user=user).order_by("-created_at", "-id").first()


def data_export_build(*, export_id: int) -> None:
    """Task body; idempotent: only a pending export is built, and a build that lost a race removes its file."""
    export = DataExport.objects.select_related("user").filter(pk=export_id, status=DataExport.Status.PENDING).first()
    if export is None:
        return
    key = data_export_write(user=export.user)
    built = DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).update(
        status=DataExport.Status.READY, storage_key=key, finished_at=timezone.now()
    )
    if not built:
        default_storage.delete(key)


def data_export_fail(*, export_id: int) -> None:
    DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).update(
        status=DataExport.Status.FAILED, finished_at=timezone.now()
    )


def data_export_download_path(*, export: DataExport) -> str | None:
    """The signed, expiring path of a ready export's file (MEDIA_URL_TTL_SECONDS, like private media)."""
    if export.status != DataExport.Status.READY:
        return None
    return "/exports/download/?" + urlencode({"token": _export_signer().sign(str(export.pk))})


def data_export_for_download(*, token: str) -> DataExport | None:
    try:
        export_id = int(_export_signer().unsign(token, max_age=settings.MEDIA_URL_TTL_SECONDS))
    except (signing.BadSignature, ValueError, UnicodeError):
        return None
    return DataExport.objects.filter(pk=export_id, status=DataExport.Status.READY).first()


def _data_exports_delete(exports) -> int:
    count = 0
    for export in exports:
        if export.storage_key:
            default_storage.delete(export.storage_key)
        export.delete()
        count += 1
    return count


def data_exports_delete_old() -> int:
    """Exports are copies of personal data: each is deleted, file and row, DATA_EXPORT_KEEP_DAYS after creation."""
    cutoff = timezone.now() - timedelta(days=settings.DATA_EXPORT_KEEP_DAYS)
    return _data_exports_delete(DataExport.objects.filter(created_at__lt=cutoff).order_by("id")[:1000])
