from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from apps.common.pagination import IdWindow, ScoreCursor, page_response, page_schema, page_size_from
from apps.posts.serializers import PostSerializer, post_rows_payload

from . import selectors, services
from .serializers import RecommendedPostSerializer, recommended_rows_payload

_RANKING_PARAMETERS = [OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("page_size", OpenApiTypes.INT)]


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
        window = IdWindow.from_request(request)
        stored, accounts = services.home_timeline_prepare(reader=request.user, window=window)
        page = selectors.feed_home_page(viewer=request.user, window=window, stored=stored, accounts=accounts)
        return page_response(
            request,
            post_rows_payload(page.posts, request=request),
            next_position={"max_id": page.next_max_id} if page.next_max_id else None,
            previous_position={"min_id": page.prev_min_id} if page.prev_min_id else None,
        )


class _RankedView(APIView):
    def ranked(self, request, cursor: ScoreCursor | None, limit: int) -> selectors.RankedPage:
        raise NotImplementedError

    def payload(self, request, items: list[dict]) -> list[dict]:
        return post_rows_payload(items, request=request)

    def get(self, request):
        limit, cursor = page_size_from(request), ScoreCursor.from_request(request)
        page = self.ranked(request, cursor, limit)
        return page_response(
            request,
            self.payload(request, page.items),
            next_position={"cursor": page.next_cursor.encode()} if page.next_cursor else None,
            # Rankings move as engagement changes: there is no stable way back, clients restart from the top.
            previous_position=None,
        )


class RecommendedFeedView(_RankedView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=_RANKING_PARAMETERS, responses=page_schema("RecommendedFeedPage", RecommendedPostSerializer)
    )
    def get(self, request):
        return super().get(request)

    def payload(self, request, items):
        return recommended_rows_payload(items, request=request)

    def ranked(self, request, cursor, limit):
        recommendations, accounts = services.recommended_prepare(viewer=request.user)
        return selectors.recommended_page(
            viewer=request.user, recommendations=recommendations, cursor=cursor, limit=limit, accounts=accounts
        )


class TrendingFeedView(_RankedView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=_RANKING_PARAMETERS, responses=page_schema("TrendingFeedPage", PostSerializer))
    def get(self, request):
        return super().get(request)

    def ranked(self, request, cursor, limit):
        entries, accounts = services.trending_for_page(viewer=request.user)
        return selectors.trending_page(
            viewer=request.user, entries=entries, accounts=accounts, cursor=cursor, limit=limit
        )
