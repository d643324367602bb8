from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework import serializers

from apps.common.fields import api_datetime


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 29, 17, 5, 1, 123456, tzinfo=UTC),
        datetime(2026, 11, 29, 17, 5, 1, tzinfo=UTC),  # no microseconds: isoformat leaves them out
        datetime(2026, 11, 29, 18, 5, 1, 5, tzinfo=timezone(timedelta(hours=1))),  # not UTC: DRF's way
    ],
)
def test_api_datetime_writes_what_drf_writes(value):
    assert api_datetime(value) == serializers.DateTimeField().to_representation(value)


def test_api_datetime_keeps_none():
    assert api_datetime(None) is None
