from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Account erasure (GDPR) and what lets an owner take a deletion back. Erasure deletes what every domain app
    holds, through each app's own services (so counters, timelines and files follow), so it sits above them all."""

    name = "apps.privacy"
