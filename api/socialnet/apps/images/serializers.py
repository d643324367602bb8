from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Image
from .signing import media_path, sign_media_path

URL_NAMES = ("original", "small", "medium", "large")


def image_urls(image: Image, *, public: bool, request=None) -> dict[str, str | None]:
    """The image's file URLs: plain for public images, signed and expiring otherwise, all null until ready."""
    if image.status != Image.Status.READY:
        return dict.fromkeys(URL_NAMES)
    keys = image.served_keys()
    urls = {}
    for name in URL_NAMES:
        path = media_path(keys[name]) if public else sign_media_path(keys[name])
        urls[name] = request.build_absolute_uri(path) if request is not None else path
    return urls


# What image_payload reads of an image row (the id aside), for lists that fetch only that (`.only()`).
IMAGE_PAYLOAD_COLUMNS = ("status", "width", "height", "blurhash", "alt_text", "storage_prefix", "original_ext")


def image_payload(image: Image, *, public: bool, request=None) -> dict:
    """The image object of API.md. `public` must come from the caller's knowledge of where the image is shown
    (a public post, an avatar): computing it here would cost a query per image in lists."""
    return {
        "id": image.pk,
        "status": image.status,
        "width": image.width,
        "height": image.height,
        "blurhash": image.blurhash or None,
        "alt_text": image.alt_text,
        "urls": image_urls(image, public=public, request=request),
    }


def post_images_payload(images, *, public: bool, request=None) -> list[dict]:
    """A visible, unlocked post's images (in order, as a page of posts reads them); `public`
    is the posts app's answer for this post."""
    return [image_payload(image, public=public, request=request) for image in images]


def avatar_payload(user, *, request=None) -> dict | None:
    """A user's avatar (public: profiles are). Expects `avatar` to be select_related."""
    if user.avatar_id is None:
        return None
    return image_payload(user.avatar, public=True, request=request)


class ImageUrlsSerializer(serializers.Serializer):
    original = serializers.URLField(allow_null=True)
    small = serializers.URLField(allow_null=True)
    medium = serializers.URLField(allow_null=True)
    large = serializers.URLField(allow_null=True)


class ImageSerializer(serializers.ModelSerializer):
    """Image object (read). `context["public"]` says whether plain URLs may be used."""

    urls = serializers.SerializerMethodField()
    blurhash = serializers.CharField(allow_null=True, read_only=True)

    class Meta:
        model = Image
        fields = ["id", "status", "width", "height", "blurhash", "alt_text", "urls"]
        read_only_fields = fields

    def to_representation(self, instance):
        return image_payload(instance, public=self.context.get("public", False), request=self.context.get("request"))

    @extend_schema_field(ImageUrlsSerializer)
    def get_urls(self, obj):  # pragma: no cover - to_representation builds the payload; this documents the shape
        return image_urls(obj, public=False)


class ImageUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # an empty file gets the content check's clearer message
        use_url=False,
        error_messages={"required": "No file was submitted: send the image in the `file` field."},
    )
    alt_text = serializers.CharField(max_length=Image.ALT_TEXT_MAX_LENGTH, required=False, allow_blank=True, default="")
