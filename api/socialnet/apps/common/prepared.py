"""Querysets whose SQL is compiled once per shape and process, then only re-bound with each request's values.

Building a list page's queryset (the visibility rule: a dozen filters, EXISTS subqueries, annotations) and compiling
it to SQL cost Django several milliseconds of Python per request: more than executing it, reading the rows and
rendering the JSON together. Yet the SQL text of a page depends only on its *shape* (anonymous or not, moderator or
not, which optional filters apply, the page size, ...), never on the values (the viewer's id, blocked ids, the
cursor). So a page is described as a `PreparedSource`: a `key` naming its shape, the `values` that vary, and a
`build()` that makes the ordinary queryset. The first time a key is seen, `build()` runs and is compiled once with
every `Param` left as a placeholder; after that, a page binds its values into the cached SQL and executes it through
Django's own model iterator (select_related, annotations, converters), skipping the build and the compilation.

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
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import BooleanField, Expression, F, Model, QuerySet, signals
from django.db.models.base import ModelState
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
    get_related_populators,
)

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
class _Builder:
    """How to make one model instance (and those select_related below it) from a row: the same objects
    Model.from_db and Django's related populators make (loaded fields in __dict__, the rest deferred, related
    objects in the fields cache), without Model.__init__'s per-field loop over every concrete field, which for a
    20-row page with its author and avatar cost as much as running the query."""

    model: type
    attnames: tuple[str, ...]
    start: int
    end: int
    pk_index: int
    local_setter: Callable | None  # puts this object into its parent's fields cache
    remote_setter: Callable | None
    related: tuple[_Builder, ...]

    def build(self, row, db: str):
        values = row[self.start : self.end]
        if values[self.pk_index] is None:
            return None
        obj = self.model.__new__(self.model)
        obj.__dict__.update(zip(self.attnames, values, strict=True))
        state = ModelState()
        state.adding, state.db = False, db
        obj._state = state
        for child in self.related:
            related = child.build(row, db)
            child.local_setter(obj, related)
            if related is not None:
                child.remote_setter(related, obj)
        return obj


def _builder(klass_info: dict, select: list) -> _Builder | None:
    """None when Django's own iterable must do it: a parent model's fields (multi-table inheritance), or a model
    with post_init receivers, which Model.__init__ would call."""
    model = klass_info["model"]
    if klass_info.get("from_parent") or signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return None
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    attnames = tuple(column[0].target.attname for column in select[start:end])
    related = tuple(_builder(info, select) for info in klass_info.get("related_klass_infos", []))
    if None in related:
        return None
    return _Builder(
        model=model,
        attnames=attnames,
        start=start,
        end=end,
        pk_index=attnames.index(model._meta.pk.attname),
        local_setter=klass_info.get("local_setter"),
        remote_setter=klass_info.get("remote_setter"),
        related=related,
    )


@dataclass(frozen=True)
class _Shape:
    compiler: Any  # a compiler that has run as_sql(): it knows the select list and how to build models from rows
    sql: str
    template: tuple  # the params, with a _Slot where a Param's value goes
    # What the queryset yields: ModelIterable, or a values()/values_list() iterable (plain rows: no model to
    # instantiate per row, for a page that only renders columns).
    iterable: type = ModelIterable
    builder: _Builder | None = None  # models built from rows (ModelIterable only); None: Django's iterable does it
    # The converters of the select list by connection (None: not kept, see _compile_shape). Django works them out
    # on every execution, walking every column; they depend only on the shape and the connection's backend.
    converters: weakref.WeakKeyDictionary | None = None


_shapes: dict[tuple, _Shape] = {}
# The iterables that read nothing of a queryset but its compiler and the names of its columns (not named=True).
_ITERABLES = (ModelIterable, ValuesIterable, ValuesListIterable, FlatValuesListIterable)


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

    def fetch(self) -> list[Model]:
        """The model instances (or, for a `values()` queryset, its rows), in the query's order, as
        `list(self.queryset())` would give them."""
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
        objects = _objects(shape, self.values, model, using)
        if self.after_fetch is not None:
            self.after_fetch(objects)
        return objects


def _objects(shape: _Shape, values: dict[str, Any], model, using: str) -> list[Model]:
    if shape.builder is None or shape.converters is None:
        return list(shape.iterable(_BoundQuerySet(model, shape, values, using)))
    annotations = tuple((shape.compiler.annotation_col_map or {}).items())
    build = shape.builder.build
    objects = []
    for row in _rows(shape, values, using):
        obj = build(row, using)
        if settings.PREPARED_QUERIES_CHECK:
            _check_object(shape, row, obj, using)
        for name, position in annotations:
            obj.__dict__[name] = row[position]
        objects.append(obj)
    return objects


def _rows(shape: _Shape, values: dict[str, Any], using: str) -> list:
    """The shape's rows with `values` bound and the select list's converters applied: what the compiler's
    execute_sql() and results_iter() give, without a copy of the compiler and Django's chunked iteration per query
    (for the bearer-token lookup, one row, those cost more CPU than sending the query). The cursor is the one
    Django's compiler would use (wrapped: errors, query logging and counting), closed before returning."""
    connection = connections[using]
    source = _ServerBinding(connection) if connection.vendor == "postgresql" else connection
    with source.cursor() as cursor:
        cursor.execute(shape.sql, _bind(shape, values))
        rows = cursor.fetchall()
    converters = shape.converters.get(connection)
    if converters is None:
        columns = [column for column, _, _ in shape.compiler.select[: shape.compiler.col_count]]
        converters = _BoundQuery(shape, values, using).get_compiler().get_converters(columns)
    if not converters:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for position, (functions, expression) in converters.items():
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        converted.append(row)
    return converted


def _check_object(shape: _Shape, row, obj: Model, using: str) -> None:
    """The instance built from `row` must be the one Django's ModelIterable builds from it."""
    info, select = shape.compiler.klass_info, shape.compiler.select
    fields = info["select_fields"]
    attnames = [column[0].target.attname for column in select[fields[0] : fields[-1] + 1]]
    expected = info["model"].from_db(using, attnames, row[fields[0] : fields[-1] + 1])
    for populator in get_related_populators(info, select, using):
        populator.populate(row, expected)
    if _snapshot(obj) != _snapshot(expected):
        raise AssertionError(
            f"Prepared query {shape.sql[:80]}...: built {_snapshot(obj)}, Django {_snapshot(expected)}"
        )


def _snapshot(obj: Model | None):
    if obj is None:
        return None
    loaded = {name: value for name, value in obj.__dict__.items() if name != "_state"}
    related = {name: _snapshot(value) for name, value in obj._state.fields_cache.items()}
    return type(obj), loaded, related, obj._state.db, obj._state.adding


def _compile_shape(queryset: QuerySet, using: str) -> _Shape:
    if queryset._iterable_class not in _ITERABLES:
        raise TypeError(
            f"A prepared query yields models or values()/values_list() rows, not {queryset._iterable_class}"
        )
    compiler = queryset.query.get_compiler(using=using)
    token = _compiling_template.set(True)
    try:
        sql, params = compiler.as_sql()
    finally:
        _compiling_template.reset(token)
    # A composite column's converters are worked out recursively, through the same method: not kept then.
    columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
    converters = None if compiler.has_composite_fields(columns) else weakref.WeakKeyDictionary()
    models = queryset._iterable_class is ModelIterable and compiler.klass_info
    return _Shape(
        compiler=compiler,
        sql=sql,
        template=tuple(params),
        iterable=queryset._iterable_class,
        builder=_builder(compiler.klass_info, compiler.select) if models else None,
        converters=converters,
    )


def _kept_converters(shape: _Shape, compiler, connection, expressions) -> dict:
    """`compiler.get_converters(expressions)` (only ever asked for the select list), once per connection."""
    converters = shape.converters.get(connection)
    if converters is None:
        converters = type(compiler).get_converters(compiler, expressions)
        shape.converters[connection] = converters
    return converters


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
        or queryset._iterable_class is not shape.iterable  # models and values() rows of one SQL
    ):
        raise AssertionError(
            f"Prepared query {source.key!r}: the cached SQL does not match this request's queryset. Every value "
            f"that varies must be a Param named in `values` ({sorted(source.values)} given, {sorted(slots)} in the "
            f"SQL), and everything else that changes the SQL must be in the key.\ncached: {shape.sql}\nnow:    {sql}"
        )


class _BoundQuery:
    """What ModelIterable asks of a queryset's query: a compiler, here the cached one with this request's values.
    The values() iterables also read the names of the selected columns: those of the compiled query."""

    def __init__(self, shape: _Shape, values: dict[str, Any], using: str):
        self.shape, self.values, self.using = shape, values, using

    def __getattr__(self, name: str):
        if name in ("selected", "extra_select", "values_select", "annotation_select"):
            return getattr(self.shape.compiler.query, name)
        raise AttributeError(name)

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        compiler = copy.copy(self.shape.compiler)
        # A compiler holds its thread's connection; this request may run on another thread or a replica.
        compiler.using = self.using
        connection = connections[self.using]
        compiler.connection = _ServerBinding(connection) if connection.vendor == "postgresql" else connection
        sql, params = self.shape.sql, _bind(self.shape, self.values)
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        if self.shape.converters is not None:
            compiler.get_converters = partial(_kept_converters, self.shape, compiler, connection)
        return compiler


class _ServerBinding:
    """The connection as a prepared query's compiler sees it: its cursor sends the parameters apart from the SQL.

    A shape's SQL text is then the same on every request, so psycopg prepares it on the server after a few runs on
    a pooled connection (`prepare_threshold`) and PostgreSQL skips parsing and planning it: for a list page's
    visibility query planning took longer than executing. Every other query keeps Django's default client-side
    binding, whose semantics the rest of the code was written against. The cursor is wrapped the way Django wraps
    its own (errors, query logging: query-count tests count these too)."""

    def __init__(self, connection):
        self._connection = connection

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def cursor(self):
        connection = self._connection
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        with connection.wrap_database_errors:
            return connection._prepare_cursor(_PreparingCursor(connection.connection))


class _PreparingCursor(ServerBindingCursor):
    """Prepares each statement on the server at its first run on a connection (psycopg keeps the statement per
    connection, the most recent `prepared_max` of them; settings' `prepare_threshold` must be set for psycopg to
    prepare at all)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class _BoundQuerySet:
    """The few attributes of a QuerySet that ModelIterable reads."""

    _known_related_objects: dict = {}

    def __init__(self, model, shape: _Shape, values: dict[str, Any], using: str):
        self.model, self.db = model, using
        self.query = _BoundQuery(shape, values, using)
