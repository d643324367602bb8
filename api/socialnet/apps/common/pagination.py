"""Pagination for every list: `{next, previous, results}` pages, `?page_size=` (default 20, at most 100), cursors
that stay stable while new rows arrive and cost O(1) per page at any depth. A malformed cursor, page size or id
bound is the client's mistake: always a 400, never a 404 or a 500.

Querysets page through the DRF cursor classes below. Lists that are not a queryset build their page themselves
from what this module parses: the home feed (`IdWindow`, Mastodon's `max_id`/`min_id`, because ids come from
Redis) and the rankings (`ScoreCursor`, a (score, id) position, because scores are computed per request).
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from urllib import parse

from django.db.models import Q
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .fields import MAX_ID
from .prepared import Param, PreparedSource

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
PAGE_SIZE_PARAM = "page_size"
CURSOR_PARAM = "cursor"
INVALID_CURSOR = "Invalid cursor."
# Every parameter that says where a page starts: a link to another page replaces all of them.
_POSITION_PARAMS = (CURSOR_PARAM, "max_id", "min_id")


def _invalid_cursor() -> ValidationError:
    return ValidationError({CURSOR_PARAM: [INVALID_CURSOR]})


def _int_param(request, name: str, *, low: int, high: int, message: str) -> int | None:
    """The integer query parameter `name`, None when absent; anything but an integer in [low, high] is a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationError({name: [message]})
    return value


def page_size_from(request) -> int:
    # DRF silently falls back to the default on bad values; a client asking for 0 or 10^9 has a bug worth seeing.
    message = f"Must be an integer between 1 and {MAX_PAGE_SIZE}."
    size = _int_param(request, PAGE_SIZE_PARAM, low=1, high=MAX_PAGE_SIZE, message=message)
    return PAGE_SIZE if size is None else size


# --- hand-built pages ---------------------------------------------------------------------------------------------
def page_link(request, **position) -> str:
    """The current URL (filters and page size kept) pointing at another page."""
    url = request.build_absolute_uri()
    for name in _POSITION_PARAMS:
        url = remove_query_param(url, name)
    for name, value in position.items():
        url = replace_query_param(url, name, value)
    return url


def page_response(
    request, results, *, next_position: dict | None = None, previous_position: dict | None = None
) -> Response:
    """A page of a list that is not a queryset, in the same shape as every other list; no position, no link."""
    return Response(
        {
            "next": page_link(request, **next_position) if next_position else None,
            "previous": page_link(request, **previous_position) if previous_position else None,
            "results": results,
        }
    )


def page_schema(name: str, item) -> object:
    """The `{next, previous, results}` shape of a hand-built page, for the OpenAPI schema."""
    return inline_serializer(
        name,
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


@dataclass(frozen=True)
class IdWindow:
    """A page of a newest-first list of ids: older than `max_id` (the `next` link), or newer than `min_id` (the
    `previous` link), or the newest `size` when neither is given."""

    max_id: int | None
    min_id: int | None
    size: int

    @classmethod
    def from_request(cls, request) -> IdWindow:
        max_id, min_id = (
            _int_param(request, name, low=1, high=MAX_ID, message="Must be a positive integer.")
            for name in ("max_id", "min_id")
        )
        if max_id is not None and min_id is not None:
            raise ValidationError({"detail": "Use max_id or min_id, not both."})
        return cls(max_id=max_id, min_id=min_id, size=page_size_from(request))


@dataclass(frozen=True)
class ScoreCursor:
    """A position in a ranking sorted by (score, id) descending: the next page starts strictly after it."""

    score: float
    id: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.score!r}:{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def from_request(cls, request) -> ScoreCursor | None:
        raw = request.query_params.get(CURSOR_PARAM)
        if not raw:  # absent or empty (`?cursor=`): the first page, as on every list
            return None
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            score_text, id_text = text.split(":")
            score, row_id = float(score_text), int(id_text)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise _invalid_cursor() from None
        if not math.isfinite(score) or not 1 <= row_id <= MAX_ID:
            raise _invalid_cursor()
        return cls(score=score, id=row_id)


# --- querysets ----------------------------------------------------------------------------------------------------
class _PreparedPage:
    """What DRF's cursor pagination does to a queryset (order it, filter on the cursor's position, cut the page),
    done to a PreparedSource: each step is part of the page's shape, the position is its one varying value."""

    def __init__(self, source: PreparedSource):
        self.source = source

    def order_by(self, *fields: str) -> _PreparedPage:
        return _PreparedPage(self.source.refine(("order", *fields), {}, lambda qs: qs.order_by(*fields)))

    def filter(self, **condition) -> _PreparedPage:
        ((lookup, position),) = condition.items()  # `id__lt` or `id__gt`: decode_cursor checked the position
        position = int(position)
        return _PreparedPage(
            self.source.refine(
                ("position", lookup),
                {"position": position},
                lambda qs: qs.filter(**{lookup: Param("position", position)}),
            )
        )

    def __getitem__(self, window: slice) -> list:
        start, stop = window.start, window.stop
        return self.source.refine(("slice", start, stop), {}, lambda qs: qs[start:stop]).fetch()


class IdCursorPagination(CursorPagination):
    """Newest first by id. Ids grow with time and are unique, so the cursor never skips or repeats a row.
    Pages a queryset, or a PreparedSource (apps.common.prepared) whose SQL is compiled once per page shape."""

    ordering = "-id"
    page_size = PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = PAGE_SIZE_PARAM
    cursor_query_param = CURSOR_PARAM

    def get_page_size(self, request):
        return page_size_from(request)

    def paginate_queryset(self, queryset, request, view=None):
        if isinstance(queryset, PreparedSource):
            queryset = _PreparedPage(queryset)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        # DRF's own decoding answers 404 to what it cannot decode, takes what is not base64 at all for the first
        # page, and checks no position although it goes straight into `id < position` ("p=abc" would be a 500).
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:  # absent or empty (`?cursor=`): the first page, as on every list
            return None
        try:
            text = base64.b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = {"0": False, "1": True}[tokens.get("r", ["0"])[0]]
            position = int(tokens["p"][0]) if "p" in tokens else None  # positions are ids in every ordering here
        except (ValueError, KeyError, UnicodeError, binascii.Error):
            raise _invalid_cursor() from None
        if not tokens or offset < 0 or not 0 <= (position or 0) <= MAX_ID:
            raise _invalid_cursor()
        position_text = None if position is None else str(position)
        return Cursor(offset=min(offset, self.offset_cutoff), reverse=reverse, position=position_text)


class OldestFirstCursorPagination(IdCursorPagination):
    ordering = "id"


class OpenFirstCursorPagination(IdCursorPagination):
    """Keyset pagination on (`is_open` desc, `id` desc): open rows first, newest first within each group.

    DRF's cursor only keys on the first ordering field and pages through equal values with an offset (capped at
    1000), which loops on a queue where thousands of rows share `is_open`. Here the cursor carries both keys,
    so every page is an index range scan, at any depth.
    """

    ordering = ("-is_open", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        position = self._decode(request)
        reverse = bool(position and position[2])
        if position is None:
            rows_qs = queryset.order_by("-is_open", "-id")
        elif not reverse:
            is_open, last_id, _ = position
            after = Q(is_open__lt=is_open) | Q(is_open=is_open, id__lt=last_id)
            rows_qs = queryset.filter(after).order_by("-is_open", "-id")
        else:
            is_open, first_id, _ = position
            before = Q(is_open__gt=is_open) | Q(is_open=is_open, id__gt=first_id)
            rows_qs = queryset.filter(before).order_by("is_open", "id")
        rows = list(rows_qs[: self.page_size + 1])
        has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
        self._next = rows[-1] if rows and (reverse or has_more) else None
        self._previous = rows[0] if rows and ((reverse and has_more) or (not reverse and position)) else None
        return rows

    def _decode(self, request) -> tuple[bool, int, bool] | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:  # absent or empty (`?cursor=`): the first page, as on every list
            return None
        try:
            text = base64.b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            fields = parse.parse_qs(text, strict_parsing=True)
            is_open = {"1": True, "0": False}[fields["o"][0]]
            row_id = int(fields["i"][0])
            reverse = {"1": True, "0": False}[fields.get("r", ["0"])[0]]
        except (ValueError, KeyError, UnicodeError, binascii.Error):
            raise _invalid_cursor() from None
        if not 0 <= row_id <= MAX_ID:
            raise _invalid_cursor()
        return is_open, row_id, reverse

    def _link(self, row, *, reverse: bool) -> str:
        token = parse.urlencode({"o": int(row.is_open), "i": row.pk, "r": int(reverse)})
        url = self.request.build_absolute_uri()
        encoded = base64.b64encode(token.encode("ascii")).decode("ascii")
        return replace_query_param(url, self.cursor_query_param, encoded)

    def get_next_link(self):
        return self._link(self._next, reverse=False) if self._next is not None else None

    def get_previous_link(self):
        return self._link(self._previous, reverse=True) if self._previous is not None else None
