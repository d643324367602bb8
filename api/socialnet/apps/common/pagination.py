"""Cursor pagination for every list: stable while new rows arrive, O(1) per page at any depth."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


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


class OldestFirstCursorPagination(IdCursorPagination):
    ordering = "id"
