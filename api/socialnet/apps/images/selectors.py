"""Reads of images, and the rule for who may see one.

An image is visible to its owner, and to anyone who can see it where it is shown: on a post they may see and whose
content is not locked (decided by `apps.posts.selectors.post_visible_queryset`, the one visibility rule), or as
the avatar of an active account. Public (served with a plain, cacheable URL) means: anyone, anonymous included,
can see it that way; everything else gets signed, expiring URLs.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from .models import Image


def _public_q(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}post__visibility": "public",
            f"{prefix}post__removed_at__isnull": True,
            f"{prefix}post__author__is_active": True,
        }
    ) | Q(**{f"{prefix}avatar_users__is_active": True})


def image_is_public(*, image: Image) -> bool:
    """Whether anyone, anonymous included, may see this image (public post, or an active user's avatar)."""
    return Image.objects.filter(pk=image.pk).filter(_public_q()).exists()


def image_get_for_owner(*, owner, image_id: int) -> Image:
    """The caller's own image, or Http404 (also for other users' images: never reveal that one exists)."""
    image = Image.objects.filter(pk=image_id, owner_id=getattr(owner, "pk", None)).first()
    if image is None:
        raise Http404("No such image.")
    return image


def image_get_visible(*, viewer, image_id: int) -> tuple[Image, bool]:
    """(image, public) for GET /images/{id}/; Http404 when the viewer may not see it, locked premium included."""
    from apps.posts.selectors import post_visible_queryset

    image = Image.objects.select_related("post").filter(pk=image_id).first()
    if image is None:
        raise Http404("No such image.")
    public = image_is_public(image=image)
    if public or (viewer.is_authenticated and image.owner_id == viewer.pk):
        return image, public
    if (
        image.post_id is not None
        and post_visible_queryset(viewer=viewer).filter(pk=image.post_id, is_locked=False).exists()
    ):
        return image, False
    raise Http404("No such image.")


def image_get_for_media(*, storage_prefix: str) -> tuple[Image, bool] | None:
    """(ready image owning these files, whether it is public) for the media view; None if there is none."""
    image = Image.objects.filter(storage_prefix=storage_prefix, status=Image.Status.READY).first()
    if image is None:
        return None
    return image, image_is_public(image=image)


def post_images_prefetch() -> Prefetch:
    """What a post list needs to show its images: one query for the whole page, in post order."""
    return Prefetch("images", queryset=Image.objects.order_by("position", "id"), to_attr="ordered_images")


def images_of_user(*, owner) -> QuerySet[Image]:
    return Image.objects.filter(owner_id=owner.pk).order_by("-id")
