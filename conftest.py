# Shared fixtures live in a plugin so Django, gateway and end-to-end tests can all use them.
pytest_plugins = ["apps.common.testing.fixtures", "apps.common.testing.celery_worker"]
