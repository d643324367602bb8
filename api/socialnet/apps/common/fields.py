"""Serializer fields shared by every app."""

from datetime import UTC

from django.conf import settings
from rest_framework import serializers

# The largest bigint: an id beyond it cannot exist, and asking for one must be a 400, never a database error.
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    """An object id in a request body: a positive integer PostgreSQL can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


_DATETIME = serializers.DateTimeField()


def api_datetime(value):
    """A timestamp as every DateTimeField of the API shows it (settings' format and time zone); None stays None.
    For serializers that build their objects as plain dicts (the hot lists), so both ways agree."""
    if value is None:
        return None
    if value.tzinfo is UTC and settings.TIME_ZONE == "UTC":
        # What DRF writes for a UTC timestamp in a UTC project (ISO 8601, "Z"), without its per-call time-zone
        # lookups: a list page shows 40-200 of them. PostgreSQL's timestamps arrive in UTC.
        return value.isoformat().removesuffix("+00:00") + "Z"
    return _DATETIME.to_representation(value)
