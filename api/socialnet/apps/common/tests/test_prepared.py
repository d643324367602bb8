"""Prepared querysets (apps.common.prepared): compiled once per shape, bound per request, checked in the suite."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.common import prepared
from apps.common.models import OutboxEvent
from apps.common.prepared import AnyOf, IdsParam, Param, PreparedSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    return [OutboxEvent.objects.create(task=f"task{i}", relays=i % 3) for i in range(6)]


def _source(*, relays: int, ids: list[int], counter: list | None = None) -> PreparedSource:
    def build():
        if counter is not None:
            counter.append(1)
        return OutboxEvent.objects.filter(AnyOf("id", IdsParam("ids", ids)), relays=Param("relays", relays)).order_by(
            "id"
        )

    return PreparedSource(key=("test.events",), values={"relays": relays, "ids": ids}, build=build)


def test_fetch_returns_what_the_queryset_returns_for_every_binding(events):
    ids = [e.pk for e in events]
    for relays in (0, 1, 2):
        for subset in (ids, ids[:3], []):
            source = _source(relays=relays, ids=subset)
            assert source.fetch() == list(source.queryset())
    assert [e.task for e in _source(relays=1, ids=ids).fetch()] == ["task1", "task4"]


def test_a_known_shape_is_neither_built_nor_compiled_again(events, settings):
    settings.PREPARED_QUERIES_CHECK = False
    prepared._shapes.clear()
    built: list = []
    ids = [e.pk for e in events]
    assert [e.task for e in _source(relays=0, ids=ids, counter=built).fetch()] == ["task0", "task3"]
    with CaptureQueriesContext(connection) as queries:
        rows = _source(relays=2, ids=ids[:3], counter=built).fetch()
    assert [e.task for e in rows] == ["task2"]
    assert len(built) == 1  # the second call bound its values into the cached SQL
    assert len(queries) == 1


def test_the_check_catches_a_value_that_is_not_a_param(events, settings):
    settings.PREPARED_QUERIES_CHECK = True
    prepared._shapes.clear()

    def leaky(relays):
        # `relays` is a literal in the SQL, but the key does not say so: a second binding would reuse the first.
        return PreparedSource(
            key=("test.leaky",), values={}, build=lambda: OutboxEvent.objects.filter(relays=relays).order_by("id")
        )

    leaky(0).fetch()
    with pytest.raises(AssertionError, match=r"test\.leaky"):
        leaky(1).fetch()


def test_the_check_catches_a_missing_value(events, settings):
    settings.PREPARED_QUERIES_CHECK = True
    source = _source(relays=0, ids=[events[0].pk])
    incomplete = PreparedSource(key=("test.missing",), values={"relays": 0}, build=source.build)
    with pytest.raises((AssertionError, KeyError)):
        incomplete.fetch()


def test_refine_extends_the_shape_and_the_values(events):
    ids = [e.pk for e in events]
    source = _source(relays=0, ids=ids).refine(
        ("after",), {"after": ids[0]}, lambda qs: qs.filter(id__gt=Param("after", ids[0]))
    )
    assert [e.task for e in source.fetch()] == ["task3"]
    assert source.key == ("test.events", "after")


def test_postgresql_prepares_the_statement_once_per_connection(events):
    if connection.vendor != "postgresql":
        pytest.skip("server-side prepared statements are PostgreSQL's")
    ids = [e.pk for e in events]
    for relays in (0, 1, 2):
        _source(relays=relays, ids=ids).fetch()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%"common_outboxevent"."relays" = %'],
        )
        assert cursor.fetchone()[0] == 1
