# Shared fixtures live in a plugin so Django, gateway and end-to-end tests can all use them.
pytest_plugins = [
    "apps.users.tests.fixtures",
    "apps.feed.tests.backends",
    "apps.users.tests.mailbox",
    "apps.common.testing.celery_worker",
    "apps.common.testing.signal_spy",
    "apps.common.testing.media",
]
