"""Cursor pagination for every list: stable while new rows arrive, O(1) per page at any depth."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination

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
