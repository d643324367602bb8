"""The schema's error responses and limits, added in one place for every operation (a drf-spectacular
postprocessing hook, SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) rather than per view.

The views document their successes; what they answer besides is decided by layers every view shares, so it is
derived here from what the operation has:
- 400 `{field: [messages]}` (or `{"detail"}`, or a list): anything with a body or query parameters is validated;
- 401 with `WWW-Authenticate`: any operation that reads a bearer token answers a bad or expired one with it;
- 403 `{"detail"}`: missing scope, not allowed (a moderator-only action, someone else's object, a suspension);
- 404 `{"detail"}`: an unknown (or invisible) object named in the path;
- 413 and 415 `{"detail"}`: bodies above the limit, media types the operation does not parse;
- 414 `{"detail"}`: a request line (path and query) above the servers' limit (gunicorn's 8190 bytes, the same for the
  gateway and Django: api/socialnet/gunicorn.conf.py), wherever the client chooses parameters that make it long;
- 429 `{"detail"}` with `Retry-After`: every operation is throttled.
405 is not listed per operation: it is the answer to a method the schema does not list for a path.
Query limits enforced by apps.common.pagination become schema constraints here too.
"""

from __future__ import annotations

from .fields import MAX_ID
from .pagination import MAX_PAGE_SIZE

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "DRF's error shape.",
}
VALIDATION_ERROR = {
    "description": "DRF's validation error: messages per field (`non_field_errors` or `detail` for the whole "
    "request), or a list of messages.",
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ],
}

_REF = {
    "Error": {"$ref": "#/components/schemas/Error"},
    "ValidationError": {"$ref": "#/components/schemas/ValidationError"},
}

_DESCRIPTIONS = {
    "400": "Invalid request: the body or a query parameter failed validation.",
    "401": "Missing, invalid or expired access token.",
    "403": "Not allowed: missing scope, or the action is not permitted to this user.",
    "404": "Not found (or not visible to the caller).",
    "413": "Request body too large.",
    "414": "Request line (path and query string) too long.",
    "415": "Unsupported media type.",
    "429": "Too many requests: throttled.",
}

LIMITS = {
    "page_size": {"minimum": 1, "maximum": MAX_PAGE_SIZE},
    "max_id": {"minimum": 1, "maximum": MAX_ID},
    "min_id": {"minimum": 1, "maximum": MAX_ID},
}


# What the rules above cannot see, per operation: bodies naming an object by id (404 when it is not visible), a
# body the schema does not show (DELETE /users/me/ asks for the password), a resource that may not exist yet.
EXTRA_STATUSES = {
    ("post", "/reports/"): ["404"],
    ("get", "/users/me/export/"): ["404"],
    ("delete", "/users/me/"): ["400"],
}


def _response(status: str, schema: str, headers: dict | None = None) -> dict:
    response = {"description": _DESCRIPTIONS[status], "content": {"application/json": {"schema": _REF[schema]}}}
    if headers:
        response["headers"] = headers
    return response


def _reads_token(operation: dict) -> bool:
    # drf-spectacular lists a security requirement for every operation whose view authenticates; `{}` among them
    # means "anonymous too", and a bad token still gets 401 there. No `security` at all: no authentication class.
    return any(requirement for requirement in operation.get("security") or [])


def error_responses_hook(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                if parameter.get("in") == "query" and parameter.get("name") in LIMITS:
                    parameter.setdefault("schema", {"type": "integer"}).update(LIMITS[parameter["name"]])
            has_body = "requestBody" in operation
            responses = operation.setdefault("responses", {})
            extra = {}
            if has_body or any(p.get("in") == "query" for p in parameters):
                extra["400"] = _response("400", "ValidationError")
            if _reads_token(operation):
                extra["401"] = _response(
                    "401",
                    "Error",
                    {"WWW-Authenticate": {"schema": {"type": "string"}, "description": '`Bearer realm="api"`'}},
                )
                extra["403"] = _response("403", "Error")
            if any(p.get("in") == "path" for p in parameters):
                extra["404"] = _response("404", "Error")
            if any(p.get("in") in ("path", "query") for p in parameters):
                extra["414"] = _response("414", "Error")
            if has_body:
                extra["413"] = _response("413", "Error")
                extra["415"] = _response("415", "Error")
            extra["429"] = _response(
                "429",
                "Error",
                {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait before retrying"}},
            )
            for status in EXTRA_STATUSES.get((method, path), []):
                extra[status] = _response(status, "ValidationError" if status == "400" else "Error")
            for status, response in extra.items():
                responses.setdefault(status, response)  # a view's own documentation of a status wins
    return result
