import base64
import binascii
from urllib import parse

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import ScoreCursor, page_response, page_size_from
from apps.posts.serializers import PostSerializer
from apps.users.serializers import PublicProfileSerializer

from . import selectors
from .serializers import SearchQuerySerializer, TagResultSerializer

PREVIEW_SIZE = 5


class TagKeyCursorPagination(CursorPagination):
    """Tags in name order (the key is unique, so the cursor never skips or repeats one)."""

    ordering = "key"
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        return page_size_from(request)

    def decode_cursor(self, request):
        # DRF answers 404 to a cursor it cannot decode and takes what is not base64 for the first page: a bad
        # cursor is the client's mistake, a 400, as everywhere (apps.common.pagination).
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = base64.b64decode(encoded.encode("ascii"), validate=True).decode("utf-8")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = {"0": False, "1": True}[tokens.get("r", ["0"])[0]]
            position = tokens["p"][0] if "p" in tokens else None
        except (ValueError, KeyError, UnicodeError, binascii.Error):
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None
        if offset < 0 or (position is not None and ("\x00" in position or len(position) > 200)):
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        return Cursor(offset=min(offset, self.offset_cutoff), reverse=reverse, position=position)


@extend_schema(
    parameters=[
        OpenApiParameter("q", str, required=True, description="1..200 characters"),
        OpenApiParameter("type", str, enum=["accounts", "posts", "tags"], description="one kind, paginated"),
    ],
    responses=inline_serializer(
        "SearchResults",
        {
            "accounts": PublicProfileSerializer(many=True),
            "posts": PostSerializer(many=True),
            "tags": TagResultSerializer(many=True),
        },
    ),
)
class SearchView(APIView):
    """GET /search/?q=&type=: without `type`, the best 5 of each kind; with it, that kind, paginated."""

    permission_classes = [AllowAny]

    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        q, kind = params.validated_data["q"], params.validated_data.get("type")
        viewer, context = request.user, {"request": request}
        if kind is None:
            return Response(
                {
                    "accounts": PublicProfileSerializer(
                        selectors.search_accounts(viewer=viewer, q=q)[:PREVIEW_SIZE], many=True, context=context
                    ).data,
                    "posts": PostSerializer(
                        selectors.search_posts(viewer=viewer, q=q)[:PREVIEW_SIZE], many=True, context=context
                    ).data,
                    "tags": TagResultSerializer(
                        selectors.search_tags(viewer=viewer, q=q)[:PREVIEW_SIZE], many=True
                    ).data,
                }
            )
        if kind == "tags":
            paginator = TagKeyCursorPagination()
            page = paginator.paginate_queryset(selectors.search_tags(viewer=viewer, q=q), request, view=self)
            return paginator.get_paginated_response(TagResultSerializer(page, many=True).data)
        limit, cursor = page_size_from(request), ScoreCursor.from_request(request)
        if kind == "posts":
            qs, score, serializer = selectors.search_posts(viewer=viewer, q=q), "rank", PostSerializer
        else:
            # match_score, the order itself (followers, plus a bonus for the exact name): a cursor on followers
            # alone brought the exactly named account back on later pages.
            qs, score, serializer = (
                selectors.search_accounts(viewer=viewer, q=q),
                "match_score",
                PublicProfileSerializer,
            )
        items, next_cursor = selectors.ranked_page(qs, score=score, cursor=cursor, limit=limit)
        return page_response(
            request,
            serializer(items, many=True, context=context).data,
            next_position={"cursor": next_cursor.encode()} if next_cursor else None,
        )
