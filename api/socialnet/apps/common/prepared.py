"""Querysets whose SQL is compiled once per shape and process, then only re-bound with each request's values.

Building a list page's queryset (the visibility rule: a dozen filters, EXISTS subqueries, annotations) and compiling
it to SQL cost Django several milliseconds of Python per request: more than executing it, reading the rows and
rendering the JSON together. Yet the SQL text of a page depends only on its *shape* (anonymous or not, moderator or
not, which optional filters apply, the page size, ...), never on the values (the viewer's id, blocked ids, the
cursor). So a page is described as a `PreparedSource`: a `key` naming its shape, the `values` that vary, and a
`build()` that makes the ordinary queryset. The first time a key is seen, `build()` runs and is compiled once with
every `Param` left as a placeholder; after that, a page binds its values into the cached SQL and executes it through
Django's own model iterator (select_related, annotations, converters; or its values iterators for a values() or
values_list() queryset), skipping the build and the compilation.

The contract that keeps this correct: everything that varies between requests of one key is a `Param` (named in
`values`), and everything else that changes the SQL is part of `key`. With PREPARED_QUERIES_CHECK on (the test
suite), every fetch also builds and compiles the queryset the ordinary way and fails loudly if the cached SQL or
the bound values differ: a key that misses a branch, or a literal that should have been a `Param`, cannot pass the
suite unnoticed.
"""

from __future__ import annotations

import contextvars
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import BooleanField, Expression, F, QuerySet
from django.db.models.query import ModelIterable

# When set (only while a shape is compiled for the cache), a Param compiles to a slot naming it, not to its value.
_compiling_template = contextvars.ContextVar("compiling_template", default=False)

# Shapes are few (a handful of flags times the page sizes); the bound only guards against a key that, by mistake,
# grows with the data.
MAX_SHAPES = 2000


@dataclass(frozen=True)
class _Slot:
    name: str
    encode: Callable[[Any], Any] | None = None  # e.g. a list as JSON text for SQLite


class Param(Expression):
    """`%s` bound to `value`: a value that changes from one request to the next in SQL that does not.

    Two Params of one name are the same expression whatever their values, so a queryset's structure (and its
    key) does not depend on them."""

    def __init__(self, name: str, value: Any, output_field=None):
        super().__init__(output_field=output_field)
        self.name, self.value = name, value

    @property
    def identity(self):
        return (Param, self.name)

    def __eq__(self, other):
        return isinstance(other, Param) and other.name == self.name

    def __hash__(self):
        return hash((Param, self.name))

    def encode(self, value: Any, connection) -> Any:
        return value

    def as_sql(self, compiler, connection):
        if _compiling_template.get():
            encoded = type(self).encode is not Param.encode
            return "%s", [_Slot(self.name, (lambda value: self.encode(value, connection)) if encoded else None)]
        return "%s", [self.encode(self.value, connection)]


class IdsParam(Param):
    """A list of ids as one parameter: a PostgreSQL array, or JSON text in the embedded SQLite mode (see AnyOf)."""

    def encode(self, value, connection):
        ids = sorted(value)
        return ids if connection.vendor == "postgresql" else json.dumps(ids)


class AnyOf(Expression):
    """`column IN <ids>` with the ids bound as one parameter, so the SQL is the same for 0 or 500 ids (Django's
    `__in` writes one placeholder per id, a new SQL text for every length)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, ids: IdsParam):
        super().__init__(output_field=BooleanField())
        self.column, self.ids = F(column), ids

    def get_source_expressions(self):
        return [self.column, self.ids]

    def set_source_expressions(self, exprs):
        self.column, self.ids = exprs

    def as_sql(self, compiler, connection):
        column_sql, column_params = compiler.compile(self.column)
        ids_sql, ids_params = compiler.compile(self.ids)
        return f"{column_sql} = ANY({ids_sql})", [*column_params, *ids_params]

    def as_sqlite(self, compiler, connection):
        column_sql, column_params = compiler.compile(self.column)
        ids_sql, ids_params = compiler.compile(self.ids)
        # Compiled SQL fragments only: the ids themselves are the bound parameter.
        sql = f"{column_sql} IN (SELECT value FROM json_each({ids_sql}))"  # noqa: S608
        return sql, [*column_params, *ids_params]


@dataclass(frozen=True)
class _Shape:
    compiler: Any  # a compiler that has run as_sql(): it knows the select list and how to build models from rows
    sql: str
    template: tuple  # the params, with a _Slot where a Param's value goes
    iterable_class: type = ModelIterable  # models, or the dicts/tuples of a values()/values_list() queryset


_shapes: dict[tuple, _Shape] = {}


@dataclass(frozen=True)
class PreparedSource:
    """A query described by its shape (`key`), its varying `values` and how to build it (`build`, only run when
    the shape is new, or to check it). `after_fetch(objects)` completes a fetched list (e.g. a page's images)."""

    key: tuple
    values: dict[str, Any]
    build: Callable[[], QuerySet]
    after_fetch: Callable[[list], None] | None = field(default=None, compare=False)

    def queryset(self) -> QuerySet:
        """The ordinary queryset: for counting, `exists()`, subqueries, anything but the hot fetch."""
        return self.build()

    def refine(self, key: tuple, values: dict[str, Any], refine: Callable[[QuerySet], QuerySet]) -> PreparedSource:
        """This source narrowed by `refine` (a filter, an order, a slice): `key` says what shapes the refinement
        (e.g. the page size), `values` what varies (e.g. the cursor)."""
        build = self.build
        return PreparedSource(
            key=(*self.key, *key),
            values={**self.values, **values},
            build=lambda: refine(build()),
            after_fetch=self.after_fetch,
        )

    def fetch(self) -> list:
        """The rows, in the query's order, as `list(self.queryset())` would give them: model instances, or dicts
        or tuples when `build()` ends in values() or values_list() (e.g. a count grouped in SQL)."""
        shape = _shapes.get(self.key)
        if shape is None or settings.PREPARED_QUERIES_CHECK:
            queryset = self.build()
            model, using = queryset.model, queryset.db
            if shape is None:
                shape = _compile_shape(queryset, using)
                if len(_shapes) >= MAX_SHAPES:
                    _shapes.clear()
                _shapes[self.key] = shape
            if settings.PREPARED_QUERIES_CHECK:
                _check(shape, queryset, self, using)
        else:
            model = shape.compiler.query.model
            using = router.db_for_read(model)
        objects = list(shape.iterable_class(_BoundQuerySet(model, shape, self.values, using)))
        if self.after_fetch is not None:
            self.after_fetch(objects)
        return objects


def _compile_shape(queryset: QuerySet, using: str) -> _Shape:
    compiler = queryset.query.get_compiler(using=using)
    token = _compiling_template.set(True)
    try:
        sql, params = compiler.as_sql()
    finally:
        _compiling_template.reset(token)
    return _Shape(compiler=compiler, sql=sql, template=tuple(params), iterable_class=queryset._iterable_class)


def _bind(shape: _Shape, values: dict[str, Any]) -> list:
    bound = []
    for param in shape.template:
        if isinstance(param, _Slot):
            value = values[param.name]
            bound.append(param.encode(value) if param.encode else value)
        else:
            bound.append(param)
    return bound


def _check(shape: _Shape, queryset: QuerySet, source: PreparedSource, using: str) -> None:
    """The cached SQL with these values must be exactly what Django compiles for this request."""
    sql, params = queryset.query.get_compiler(using=using).as_sql()
    slots = {p.name for p in shape.template if isinstance(p, _Slot)}
    if (
        sql != shape.sql
        or list(params) != _bind(shape, source.values)
        or slots != set(source.values)
        or queryset._iterable_class is not shape.iterable_class
    ):
        raise AssertionError(
            f"Prepared query {source.key!r}: the cached SQL does not match this request's queryset. Every value "
            f"that varies must be a Param named in `values` ({sorted(source.values)} given, {sorted(slots)} in the "
            f"SQL), and everything else that changes the SQL must be in the key.\ncached: {shape.sql}\nnow:    {sql}"
        )


class _BoundQuery:
    """What ModelIterable asks of a queryset's query: a compiler, here the cached one with this request's values.
    ValuesIterable also reads the names of the selected columns: those of the compiled query."""

    def __init__(self, shape: _Shape, values: dict[str, Any], using: str):
        self.shape, self.values, self.using = shape, values, using
        query = shape.compiler.query
        self.selected, self.extra_select = query.selected, query.extra_select
        self.values_select, self.annotation_select = query.values_select, query.annotation_select

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        compiler = copy.copy(self.shape.compiler)
        # A compiler holds its thread's connection; this request may run on another thread or a replica.
        compiler.using = self.using
        compiler.connection = connections[self.using]
        sql, params = self.shape.sql, _bind(self.shape, self.values)
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        return compiler


class _BoundQuerySet:
    """The few attributes of a QuerySet that ModelIterable reads."""

    _known_related_objects: dict = {}

    def __init__(self, model, shape: _Shape, values: dict[str, Any], using: str):
        self.model, self.db = model, using
        self.query = _BoundQuery(shape, values, using)
