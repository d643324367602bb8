from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"

    def ready(self):
        from . import schema  # noqa: F401  registers the OpenAPI extension for our authentication class
