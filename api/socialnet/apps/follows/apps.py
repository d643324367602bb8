from django.apps import AppConfig


class FollowsConfig(AppConfig):
    name = "apps.follows"

    def ready(self):
        from . import receivers  # noqa: F401  connects this app's signal receivers
