from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "apps.feed"

    def ready(self):
        from . import receivers  # noqa: F401  connects this app's signal receivers
