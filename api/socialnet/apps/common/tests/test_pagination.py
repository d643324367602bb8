"""The one pagination module: whatever a client sends as a page position or size, a mistake is a 400 (API.md),
in every style a list uses. The lists themselves are tested end to end in their apps."""

import base64

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.common.pagination import (
    MAX_ID,
    IdCursorPagination,
    IdWindow,
    OpenFirstCursorPagination,
    ScoreCursor,
    page_link,
    page_size_from,
)


def request_with(rf, **params) -> Request:
    return Request(rf.get("/things/", params))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MALFORMED_ID_CURSORS = ["garbage", "!!!", b64("p=abc"), b64("o=-5&p=1"), b64(f"p={MAX_ID + 1}"), b64("r=x&p=1")]


@pytest.mark.parametrize("cursor", MALFORMED_ID_CURSORS)
def test_id_cursor_that_cannot_be_decoded_is_a_400(rf, cursor):
    with pytest.raises(ValidationError) as raised:
        IdCursorPagination().decode_cursor(request_with(rf, cursor=cursor))
    assert raised.value.status_code == 400
    assert raised.value.detail == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize("cursor", ["garbage", b64("o=1&i=abc"), b64("o=5&i=1"), b64("o=1&i=-1"), b64("o=1")])
def test_open_first_cursor_that_cannot_be_decoded_is_a_400(rf, cursor):
    with pytest.raises(ValidationError) as raised:
        OpenFirstCursorPagination().paginate_queryset(None, request_with(rf, cursor=cursor))
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"max_id": "abc"},
        {"max_id": "0"},
        {"min_id": "-3"},
        {"max_id": str(MAX_ID + 1)},
        {"max_id": "1", "min_id": "2"},
        {"page_size": "0"},
        {"page_size": "101"},
    ],
)
def test_id_window_rejects_malformed_bounds_and_sizes(rf, params):
    with pytest.raises(ValidationError) as raised:
        IdWindow.from_request(request_with(rf, **params))
    assert raised.value.status_code == 400


def test_id_window_reads_bounds_and_size(rf):
    assert IdWindow.from_request(request_with(rf, max_id="7", page_size="3")) == IdWindow(max_id=7, min_id=None, size=3)
    assert IdWindow.from_request(request_with(rf)) == IdWindow(max_id=None, min_id=None, size=20)


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "bm90OmEtbnVtYmVy", "aW5mOjE", ScoreCursor(1.5, 0).encode(), ScoreCursor(1.5, MAX_ID + 1).encode()],
)
def test_score_cursor_that_cannot_be_decoded_is_a_400(rf, cursor):
    with pytest.raises(ValidationError) as raised:
        ScoreCursor.from_request(request_with(rf, cursor=cursor))
    assert raised.value.detail == {"cursor": ["Invalid cursor."]}


def test_score_cursor_round_trips_exactly(rf):
    cursor = ScoreCursor(score=1234.5678901234567, id=42)
    assert ScoreCursor.from_request(request_with(rf, cursor=cursor.encode())) == cursor
    assert ScoreCursor.from_request(request_with(rf)) is None


@pytest.mark.parametrize("page_size", ["0", "101", "-1", "abc", ""])
def test_page_size_out_of_range_is_a_400(rf, page_size):
    with pytest.raises(ValidationError) as raised:
        page_size_from(request_with(rf, page_size=page_size))
    assert raised.value.detail == {"page_size": ["Must be an integer between 1 and 100."]}


def test_page_link_replaces_the_position_and_keeps_the_rest(rf):
    request = request_with(rf, max_id="9", page_size="5", author="ann")
    link = page_link(request, min_id=12)
    assert "min_id=12" in link
    assert "max_id" not in link
    assert "page_size=5" in link
    assert "author=ann" in link
