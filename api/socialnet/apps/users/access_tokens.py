"""The bearer-token lookup every authenticated request makes: one SQL statement, compiled once per process.

django-oauth-toolkit's own path (oauthlib parses the whole request into its own object, then an ORM query with
two joins is compiled afresh) cost about 5 ms of CPU per request, most of `GET /users/me/` (bench/requests.py).
This reads the same row the same way, the token by its SHA-256 checksum joined to its user, as a prepared query
(apps.common.prepared): compiled on first use, then only bound, and prepared on the server. Nothing is cached
between requests, so a revoked (deleted) token, a suspended or closed account, a changed password, role or
premium are all seen by the very next request.
"""

from __future__ import annotations

import hashlib

from django.db.models import CharField
from oauth2_provider.models import get_access_token_model

from apps.common.prepared import Param, PreparedSource

# What the checks and the callers use; the rest (creation times, links to refresh and ID tokens) stays deferred:
# every timestamp column costs a Python-level parse. The user comes whole: views read any of its fields.
TOKEN_FIELDS = ("id", "user", "application", "expires", "scope", "resource")


def access_token_get(raw: str):
    """The access token whose value is `raw` with its user attached (`token.user` costs no query), or None.

    Expiry, scopes and whether the user is active are the caller's to check, as with DOT's own lookup."""
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()  # how DOT stores it (tokens are hashed at rest)

    def build():
        return (
            get_access_token_model()
            .objects.select_related("user")
            .only(*TOKEN_FIELDS)
            .filter(token_checksum=Param("checksum", checksum, output_field=CharField()))
        )

    tokens = PreparedSource(key=("users.access_token",), values={"checksum": checksum}, build=build).fetch()
    return tokens[0] if tokens else None
