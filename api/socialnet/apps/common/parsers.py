"""JSON with a nesting limit, for DRF and for every view that reads JSON itself (the OAuth endpoints).

Python's decoder recurses once per `[` or `{`: a 100 KB body of brackets raised RecursionError, which nothing
caught, so the client got a 500. No body of this API nests more than a few levels, so anything deeper than
JSON_MAX_DEPTH is refused as a 400 before any serializer walks it.
"""

import codecs

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json as drf_json


class JSONTooDeep(ValueError):
    """A ValueError, so code that already answers 400 for malformed JSON answers it for this too."""


def _deeper_than(value, limit: int) -> bool:
    # Iterative on purpose: measuring depth by recursion would hit the same wall as the decoder.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def json_loads_limited(text: str | bytes, *, max_depth: int | None = None, **kwargs):
    """`json.loads` that raises JSONTooDeep (a ValueError) for input nested deeper than `max_depth`."""
    limit = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    try:
        value = drf_json.loads(text, **kwargs)
    except RecursionError as exc:  # deeper than the interpreter allows: certainly deeper than the limit
        raise JSONTooDeep(f"JSON nested deeper than {limit} levels.") from exc
    if isinstance(value, dict | list) and _deeper_than(value, limit):
        raise JSONTooDeep(f"JSON nested deeper than {limit} levels.")
    return value


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSONParser (strict constants, the request's encoding) with the nesting limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            parse_constant = drf_json.strict_constant if self.strict else None
            return json_loads_limited(text, parse_constant=parse_constant)
        except ValueError as exc:  # UnicodeDecodeError and JSONTooDeep are ValueErrors too
            raise ParseError(f"JSON parse error - {exc}") from exc
