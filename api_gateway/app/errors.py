"""Every error the gateway itself produces is JSON in DRF's shape ({"detail": ...}); none carries a traceback."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

MESSAGES = {
    400: "Bad request.",
    401: "Invalid, expired or revoked access token.",
    404: "Not found.",
    405: "Method not allowed.",
    408: "The request arrived too slowly.",
    413: "Request body too large.",
    414: "The request target is too long.",
    429: "Request was throttled.",
    431: "Request header fields too large.",
    500: "Internal gateway error.",
    502: "The API is unreachable.",
    503: "Service unavailable.",
    504: "The API took too long to answer.",
}


def error_body(status: int, detail: str | None = None) -> bytes:
    """The JSON body of an error answer (also written by the fast path, app/fastpath.py, without Flask)."""
    return json.dumps({"detail": detail or MESSAGES.get(status, "Error.")}).encode() + b"\n"


def json_error(status: int, detail: str | None = None, *, headers: dict | None = None) -> Response:
    response = Response(error_body(status, detail), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        response = json_error(exc.code or 500, MESSAGES.get(exc.code or 500, exc.name))
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        logger.exception("Unhandled gateway error")
        return json_error(500)
