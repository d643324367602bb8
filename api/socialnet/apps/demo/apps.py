from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`manage.py seed_demo`). It writes through every app's services, so it sits above them all."""

    name = "apps.demo"
