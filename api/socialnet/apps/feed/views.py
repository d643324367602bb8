from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from apps.common.pagination import IdCursorPagination
from apps.posts.serializers import PostSerializer

from . import ranking, selectors, services
from .serializers import RecommendedPostSerializer

_MAX_ID = 2**63 - 1


def page_schema(name: str, item) -> object:
    """The `{next, previous, results}` shape of every list, for the OpenAPI schema."""
    return inline_serializer(
        name,
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


def _page_size(request) -> int:
    return IdCursorPagination().get_page_size(request)


def _positive_id(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= _MAX_ID:
        raise ValidationError({name: ["Must be a positive integer."]})
    return value


def _url(request, **params) -> str:
    url = request.build_absolute_uri()
    for name in ("max_id", "min_id", "cursor"):
        url = remove_query_param(url, name)
    for name, value in params.items():
        url = replace_query_param(url, name, value)
    return url


class HomeFeedView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("max_id", OpenApiTypes.INT, description="posts older than this id (the `next` link)"),
            OpenApiParameter("min_id", OpenApiTypes.INT, description="posts newer than this id (the `previous` link)"),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses=page_schema("HomeFeedPage", PostSerializer),
    )
    def get(self, request):
        max_id, min_id = _positive_id(request, "max_id"), _positive_id(request, "min_id")
        if max_id is not None and min_id is not None:
            raise ValidationError({"detail": "Use max_id or min_id, not both."})
        limit = _page_size(request)
        if services.feed_mark_seen(user=request.user):
            # Back after a long absence: fan-out skipped this user, so their stored timeline is stale.
            services.timeline_rebuild_safely(user_id=request.user.pk, following_count=request.user.following_count)
        page = selectors.feed_home_page(viewer=request.user, max_id=max_id, min_id=min_id, limit=limit)
        return Response(
            {
                "next": _url(request, max_id=page.next_max_id) if page.next_max_id else None,
                "previous": _url(request, min_id=page.prev_min_id) if page.prev_min_id else None,
                "results": PostSerializer(page.posts, many=True, context={"request": request}).data,
            }
        )


class _RankedView(APIView):
    serializer_class = PostSerializer

    def ranked(self, request, cursor, limit) -> ranking.RankedPage:
        raise NotImplementedError

    def get(self, request):
        limit = _page_size(request)
        page = self.ranked(request, request.query_params.get("cursor"), limit)
        return Response(
            {
                "next": _url(request, cursor=page.next_cursor) if page.next_cursor else None,
                # Rankings move as engagement changes: there is no stable way back, clients restart from the top.
                "previous": None,
                "results": self.serializer_class(page.items, many=True, context={"request": request}).data,
            }
        )


class RecommendedFeedView(_RankedView):
    permission_classes = [IsAuthenticated]
    serializer_class = RecommendedPostSerializer

    @extend_schema(
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("page_size", OpenApiTypes.INT)],
        responses=page_schema("RecommendedFeedPage", RecommendedPostSerializer),
    )
    def get(self, request):
        return super().get(request)

    def ranked(self, request, cursor, limit):
        return ranking.recommended_page(viewer=request.user, cursor=cursor, limit=limit)


class TrendingFeedView(_RankedView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("page_size", OpenApiTypes.INT)],
        responses=page_schema("TrendingFeedPage", PostSerializer),
    )
    def get(self, request):
        return super().get(request)

    def ranked(self, request, cursor, limit):
        return ranking.trending_page(viewer=request.user, cursor=cursor, limit=limit)
