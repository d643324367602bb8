from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import IdCursorPagination
from apps.common.permissions import ReadOnlyOrAuthenticated

from . import selectors, services
from .serializers import (
    PostCreateSerializer,
    PostListQuerySerializer,
    PostSerializer,
    PostUpdateSerializer,
    post_rows_payload,
)


class PostListView(GenericAPIView):
    """GET /posts/ (visible to the caller, newest first, `?author=`), POST /posts/."""

    permission_classes = [ReadOnlyOrAuthenticated]
    pagination_class = IdCursorPagination
    serializer_class = PostSerializer

    @extend_schema(
        parameters=[OpenApiParameter("author", str, description="only this user's posts (username)")],
        responses=PostSerializer(many=True),
    )
    def get(self, request):
        author = None
        if "author" in request.query_params:  # a serializer is built only when there is something to check
            query = PostListQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            author = query.validated_data.get("author")
        page = self.paginate_queryset(selectors.post_list_source(viewer=request.user, author_username=author))
        return self.get_paginated_response(post_rows_payload(page, request=request))

    @extend_schema(request=PostCreateSerializer, responses={201: PostSerializer})
    def post(self, request):
        serializer = PostCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = services.post_create(author=request.user, **serializer.validated_data)
        # Re-read through the visibility selector so the response carries the same annotations as every read.
        post = selectors.post_get_visible(viewer=request.user, post_id=post.pk, page_extras=True)
        return Response(PostSerializer(post, context={"request": request}).data, status=status.HTTP_201_CREATED)


class PostDetailView(APIView):
    """GET/PATCH/DELETE /posts/{id}/."""

    permission_classes = [ReadOnlyOrAuthenticated]

    @extend_schema(responses=PostSerializer)
    def get(self, request, post_id: int):
        post = selectors.post_get_visible(viewer=request.user, post_id=post_id, page_extras=True)
        return Response(PostSerializer(post, context={"request": request}).data)

    @extend_schema(request=PostUpdateSerializer, responses=PostSerializer)
    def patch(self, request, post_id: int):
        post = selectors.post_get_visible(viewer=request.user, post_id=post_id)
        if not services.post_can_edit(post=post, actor=request.user):
            raise PermissionDenied("Only the author may edit this post.")
        serializer = PostUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.post_update(post=post, actor=request.user, **serializer.validated_data)
        post = selectors.post_get_visible(viewer=request.user, post_id=post.pk, page_extras=True)
        return Response(PostSerializer(post, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, post_id: int):
        post = selectors.post_get_for_delete(viewer=request.user, post_id=post_id)
        if not services.post_can_delete(post=post, actor=request.user):
            raise PermissionDenied("You may not delete this post.")
        services.post_delete(post=post, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
