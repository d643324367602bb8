"""The bearer-token lookup every authenticated request makes: one SQL statement, written once per process.

django-oauth-toolkit's own path (oauthlib parses the whole request into its own object, then an ORM query with
two joins is compiled afresh) cost about 5 ms of CPU per request, most of `GET /users/me/` (bench/requests.py).
This reads the same row the same way, the token by its SHA-256 checksum joined to its user, with a statement
built from the models' metadata on first use. Nothing is cached between requests, so a revoked (deleted) token,
a suspended or closed account, a changed password, role or premium are all seen by the very next request.
"""

from __future__ import annotations

import hashlib
from functools import cache

from django.db import connections, router
from oauth2_provider.models import get_access_token_model

from .models import User

TOKEN_FIELDS = ("id", "user", "application", "expires", "scope", "resource")


@cache
def _statement(alias: str) -> tuple[str, tuple, tuple]:
    token_model = get_access_token_model()
    connection = connections[alias]
    quote = connection.ops.quote_name
    # What the checks and the callers use; the rest (creation times, links to refresh and ID tokens) stays deferred:
    # every timestamp column costs a Python-level parse here (Django's time-zone loader).
    token_fields = tuple(token_model._meta.get_field(name) for name in TOKEN_FIELDS)
    user_fields = tuple(User._meta.concrete_fields)
    columns = [f"t.{quote(f.column)}" for f in token_fields] + [f"u.{quote(f.column)}" for f in user_fields]
    # Only names from the models' metadata, quoted: the one value (the checksum) is a parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(token_model._meta.db_table)} t "  # noqa: S608
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = "
        f"t.{quote(token_model._meta.get_field('user').column)} "
        f"WHERE t.{quote(token_model._meta.get_field('token_checksum').column)} = %s"
    )
    return sql, _loading(connection, token_fields), _loading(connection, user_fields)


def _loading(connection, fields: tuple) -> tuple:
    """(attname, column expression, converters) per field: what the ORM's compiler applies to each value, the
    backend's (SQLite's text datetimes and 0/1 booleans) and the field's own (JSON), in that order."""
    loading = []
    for field in fields:
        column = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        loading.append((field.attname, column, tuple(converters)))
    return tuple(loading)


def _instance(model, alias: str, loading: tuple, values) -> object:
    connection = connections[alias]
    converted = []
    for (_, column, converters), value in zip(loading, values, strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(alias, [attname for attname, _, _ in loading], converted)


def access_token_get(raw: str):
    """The access token whose value is `raw` with its user attached (`token.user` costs no query), or None.

    Expiry, scopes and whether the user is active are the caller's to check, as with DOT's own lookup."""
    token_model = get_access_token_model()
    alias = router.db_for_read(token_model)
    sql, token_loading, user_loading = _statement(alias)
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()  # how DOT stores it (tokens are hashed at rest)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(token_loading)
    token = _instance(token_model, alias, token_loading, row[:split])
    token.user = _instance(User, alias, user_loading, row[split:])
    return token
