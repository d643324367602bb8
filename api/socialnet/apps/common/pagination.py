"""Cursor pagination for every list: stable while new rows arrive, O(1) per page at any depth."""

import binascii
from base64 import b64decode, b64encode
from urllib import parse

from django.db.models import Q
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

MAX_ID = 2**63 - 1


class IdCursorPagination(CursorPagination):
    """Newest first by id. Ids grow with time and are unique, so the cursor never skips or repeats a row."""

    ordering = "-id"
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # DRF silently falls back to the default on bad values; a client asking for 0 or 10^9 has a bug worth seeing.
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= self.max_page_size:
            raise ValidationError({"page_size": [f"Must be an integer between 1 and {self.max_page_size}."]})
        return value

    def decode_cursor(self, request):
        # DRF checks a cursor's encoding but not its position, which goes straight into `id < position`: a
        # hand-made cursor such as "p=abc" would become a 500. Positions are ids here, so they must be ints.
        cursor = super().decode_cursor(request)
        ordering = (self.ordering,) if isinstance(self.ordering, str) else tuple(self.ordering)
        if cursor is None or cursor.position is None or ordering[0].lstrip("-") != "id":
            return cursor
        try:
            position = int(cursor.position)
        except ValueError:
            raise NotFound(self.invalid_cursor_message) from None
        if not 0 <= position <= MAX_ID:
            raise NotFound(self.invalid_cursor_message)
        return Cursor(offset=cursor.offset, reverse=cursor.reverse, position=str(position))


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
        if encoded is None:
            return None
        try:
            fields = parse.parse_qs(b64decode(encoded.encode("ascii")).decode("ascii"), strict_parsing=True)
            is_open = {"1": True, "0": False}[fields["o"][0]]
            row_id = int(fields["i"][0])
            reverse = {"1": True, "0": False}[fields.get("r", ["0"])[0]]
        except (ValueError, KeyError, UnicodeError, binascii.Error):
            raise NotFound(self.invalid_cursor_message) from None
        if not 0 <= row_id <= MAX_ID:
            raise NotFound(self.invalid_cursor_message)
        return is_open, row_id, reverse

    def _link(self, row, *, reverse: bool) -> str:
        token = parse.urlencode({"o": int(row.is_open), "i": row.pk, "r": int(reverse)})
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, b64encode(token.encode("ascii")).decode("ascii"))

    def get_next_link(self):
        return self._link(self._next, reverse=False) if self._next is not None else None

    def get_previous_link(self):
        return self._link(self._previous, reverse=True) if self._previous is not None else None
