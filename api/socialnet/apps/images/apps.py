from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "apps.images"

    def ready(self):
        from django.conf import settings
        from PIL import Image

        # Pillow's own bomb guard, aligned with ours: warns past the limit and refuses outright at twice it.
        # processing.py turns the warning into an error as well, so nothing decodes a bitmap we would not accept.
        Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS

        from . import processing  # noqa: F401  registers the HEIC opener when pillow-heif is installed
