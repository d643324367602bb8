from __future__ import annotations

import hashlib
import mimetypes

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http import FileResponse, Http404, JsonResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import ReadOnlyOrAuthenticated

from . import selectors, services
from .processing import CONTENT_TYPES, VARIANT_NAMES
from .serializers import ImageSerializer, ImageUploadSerializer
from .signing import verify_media_signature
from .uploads import SizeLimitedUploadHandler


class ImageCreateView(APIView):
    """POST /images/: multipart `file` (+ `alt_text`) -> 201 pending."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before DRF wraps the request: authentication already reads the (multipart) body, so the size limit
        # has to be in the handler chain before anything touches it.
        request.upload_handlers = [
            SizeLimitedUploadHandler(request),
            MemoryFileUploadHandler(request),
            TemporaryFileUploadHandler(request),
        ]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ImageUploadSerializer}, responses={201: ImageSerializer})
    def post(self, request):
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = services.image_create(
            owner=request.user,
            upload=serializer.validated_data["file"],
            alt_text=serializer.validated_data["alt_text"],
        )
        return Response(
            ImageSerializer(image, context={"request": request, "public": False}).data, status=status.HTTP_201_CREATED
        )


class ImageDetailView(APIView):
    """GET /images/{id}/ (owner, or whoever may see where it is shown), DELETE (owner)."""

    permission_classes = [ReadOnlyOrAuthenticated]

    @extend_schema(responses=ImageSerializer)
    def get(self, request, image_id: int):
        image, public = selectors.image_get_visible(viewer=request.user, image_id=image_id)
        return Response(ImageSerializer(image, context={"request": request, "public": public}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, image_id: int):
        image = selectors.image_get_for_owner(owner=request.user, image_id=image_id)
        services.image_delete(image=image)
        return Response(status=status.HTTP_204_NO_CONTENT)


_SERVED_NAMES = {f"{name}.webp" for name in VARIANT_NAMES} | {f"original.{ext}" for ext in CONTENT_TYPES}


@require_safe
def media_view(request, key: str):
    """GET /media/<key>: the only way files leave the storage.

    Public images: plain URL; a public post's files may be cached by anyone for MEDIA_PUBLIC_CACHE_SECONDS, then
    revalidated (304). Anything else: only with a valid, unexpired signature (403 otherwise), and never stored.
    Unknown keys, the raw upload and files of images not ready: 404.
    """
    prefix, _, name = key.rpartition("/")
    if name not in _SERVED_NAMES or not prefix.startswith("images/") or "/" in prefix[len("images/") :]:
        raise Http404("No such file.")
    found = selectors.image_get_for_media(storage_prefix=prefix)
    if found is None:
        raise Http404("No such file.")
    image, public = found
    if key not in image.served_keys().values():
        raise Http404("No such file.")
    validators = {}
    if public and image.post_id is not None:
        # Shared caches may keep media of public posts, briefly: they serve a copy for up to max-age after the post
        # turns premium or private. Then they must ask again, and this view re-checks visibility before it answers
        # 304 (ETag / Last-Modified) or 403.
        cache_control = f"public, max-age={settings.MEDIA_PUBLIC_CACHE_SECONDS}, must-revalidate"
        validators = _validators(image, key)
        not_modified = get_conditional_response(request, **validators)
        if not_modified is not None:
            return _with_media_headers(not_modified, cache_control, **validators)
    elif public:
        # Avatars and other plain-URL files that are not a public post's: served to anyone, stored by no one, so
        # a suspension or a private profile takes effect on the next request.
        cache_control = "private, no-store"
    elif verify_media_signature(key, request.GET.get("exp"), request.GET.get("sig")):
        # A signed URL is one viewer's credential: nothing may keep the file, not even that viewer's browser.
        cache_control = "private, no-store"
    else:
        return JsonResponse({"detail": "This media URL is missing a valid signature or has expired."}, status=403)
    try:
        fh = default_storage.open(key, "rb")
    except FileNotFoundError as exc:
        raise Http404("No such file.") from exc
    content_type = CONTENT_TYPES.get(name.rsplit(".", 1)[-1]) or mimetypes.guess_type(name)[0]
    response = _with_media_headers(FileResponse(fh, content_type=content_type), cache_control, **validators)
    response["X-Content-Type-Options"] = "nosniff"
    # Even a file that somehow held markup could not run as a page on our origin.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = "inline"
    return response


def _validators(image, key: str) -> dict:
    """ETag and Last-Modified of a served file: its bytes change only when the image is processed again."""
    changed = image.processed_at or image.updated_at
    digest = hashlib.sha256(f"{key}\n{changed.isoformat()}".encode()).hexdigest()[:32]
    return {"etag": f'"{digest}"', "last_modified": int(changed.timestamp())}


def _with_media_headers(response, cache_control: str, *, etag: str | None = None, last_modified: int | None = None):
    response["Cache-Control"] = cache_control
    if etag is not None:
        response["ETag"] = etag
        response["Last-Modified"] = http_date(last_modified)
    return response
