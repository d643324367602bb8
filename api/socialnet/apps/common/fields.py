"""Serializer fields shared by every app."""

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
    return None if value is None else _DATETIME.to_representation(value)
