import warnings

from django.apps import AppConfig

from apps.users.avatars import AvatarHandler, register_avatar_handler


class ImagesConfig(AppConfig):
    name = "apps.images"

    def ready(self):
        from django.conf import settings
        from PIL import Image

        # Pillow's own bomb guard, aligned with ours: it warns past the limit and refuses at twice it. The warning
        # becomes an error process-wide, set once here (warnings.catch_warnings per call is not thread-safe, and
        # the media worker and gunicorn both run threads). processing.py also checks the declared size itself.
        Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

        from . import processing  # also registers the HEIC opener when pillow-heif is installed

        processing.reuse_bitmap_memory()
        from .serializers import IMAGE_PAYLOAD_COLUMNS, avatar_payload
        from .services import image_for_avatar

        # Users ask for avatars through this registration (users sits below images in the layers).
        register_avatar_handler(
            AvatarHandler(choose=image_for_avatar, payload=avatar_payload, columns=IMAGE_PAYLOAD_COLUMNS)
        )
