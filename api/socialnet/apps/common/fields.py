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
