"""Reads of images, and the rule for who may see one.

An image is visible to its owner, and to anyone who can see it where it is shown: on a post they may open (the
posts app's visibility rule, registered in apps.images.policy), or as the avatar of an active account. Public
(served with a plain, cacheable URL) means: anyone, anonymous included, can see it that way; everything else gets
signed, expiring URLs.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from .models import Image
from .policy import post_visibility_rule


def _public_q() -> Q:
    return post_visibility_rule().public_q("post__") | Q(avatar_users__is_active=True)


def image_is_public(*, image: Image) -> bool:
    """Whether anyone, anonymous included, may see this image (on a public post, or an active user's avatar)."""
    return Image.objects.filter(pk=image.pk).filter(_public_q()).exists()


def image_get_for_owner(*, owner, image_id: int) -> Image:
    """The caller's own image, or Http404 (also for other users' images: never reveal that one exists)."""
    image = Image.objects.filter(pk=image_id, owner_id=getattr(owner, "pk", None)).first()
    if image is None:
        raise Http404("No such image.")
    return image


def image_get_visible(*, viewer, image_id: int) -> tuple[Image, bool]:
    """(image, public) for GET /images/{id}/; Http404 when the viewer may not see it, locked premium included."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        raise Http404("No such image.")
    public = image_is_public(image=image)
    if public or (viewer.is_authenticated and image.owner_id == viewer.pk):
        return image, public
    if image.post_id is not None and post_visibility_rule().may_open(viewer, image.post_id):
        return image, False
    raise Http404("No such image.")


def image_get_for_media(*, storage_prefix: str) -> tuple[Image, bool] | None:
    """(ready image owning these files, whether it is public) for the media view; None if there is none."""
    image = Image.objects.filter(storage_prefix=storage_prefix, status=Image.Status.READY).first()
    if image is None:
        return None
    return image, image_is_public(image=image)


# The columns an image object shows (and its file keys need), for every page of posts: the posts app reads them in
# the statement that reads the page's tags and mentions (one round trip for all three), and makes instances
# straight from them (`page_image`), because building that through the ORM (or a RawQuerySet) cost more Python time
# than reading the rows. Other columns load on access.
_PAGE_IMAGE_FIELDS = {
    "id",
    "post_id",
    "status",
    "width",
    "height",
    "blurhash",
    "alt_text",
    "storage_prefix",
    "original_ext",
}
# In the model's field order: Model.from_db takes the values of the loaded fields in that order.
PAGE_IMAGE_COLUMNS = tuple(f.attname for f in Image._meta.concrete_fields if f.attname in _PAGE_IMAGE_FIELDS)


def page_image(using: str, values) -> Image:
    """An image of a page of posts from the values of PAGE_IMAGE_COLUMNS, in that order."""
    return Image.from_db(using, PAGE_IMAGE_COLUMNS, values)
