from urllib.parse import urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.images import services
from apps.images.models import Image

from . import samples


def ready_image(owner, data: bytes | None = None, *, alt_text: str = "") -> Image:
    """A real image uploaded through the service and processed in-process, as the media worker would."""
    upload = SimpleUploadedFile("photo.jpg", data or samples.jpeg_with_gps(orientation=6), content_type="image/jpeg")
    image = services.image_create(owner=owner, upload=upload, alt_text=alt_text)
    services.image_process(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.READY
    return image


def path_of(url: str) -> str:
    """The path and query of an absolute or relative media URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
