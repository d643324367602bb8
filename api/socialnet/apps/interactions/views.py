from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import IdCursorPagination
from apps.common.permissions import ReadOnlyOrAuthenticated
from apps.posts.models import Post
from apps.posts.selectors import post_get_unlocked, post_get_visible
from apps.users.serializers import AuthorSerializer

from . import selectors, services
from .serializers import LikeStatusSerializer


class PostLikeView(APIView):
    """POST/DELETE /posts/{id}/like/."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: LikeStatusSerializer, 201: LikeStatusSerializer})
    def post(self, request, post_id: int):
        post = post_get_unlocked(viewer=request.user, post_id=post_id)
        _, created = services.like_create(user=request.user, post=post)
        likes_count = Post.objects.filter(pk=post.pk).values_list("likes_count", flat=True).first() or 0
        return Response(
            LikeStatusSerializer({"liked": True, "likes_count": likes_count}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={204: None})
    def delete(self, request, post_id: int):
        # Withdrawing a like reveals nothing, so it works on a post that has become locked for the caller.
        post = post_get_visible(viewer=request.user, post_id=post_id)
        services.like_delete(user=request.user, post=post)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostViewCounterView(APIView):
    """POST /posts/{id}/view/: 204 whether or not this view is counted (at most once per viewer per 24 h)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request, post_id: int):
        post = post_get_unlocked(viewer=request.user, post_id=post_id)
        services.view_record(viewer=request.user, post=post)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostLikesView(GenericAPIView):
    """GET /posts/{id}/likes/: who liked a post, newest first; as visible as the post, refused when locked."""

    permission_classes = [ReadOnlyOrAuthenticated]
    pagination_class = IdCursorPagination
    serializer_class = AuthorSerializer

    @extend_schema(responses=AuthorSerializer(many=True))
    def get(self, request, post_id: int):
        post = post_get_unlocked(viewer=request.user, post_id=post_id)
        page = self.paginate_queryset(selectors.like_list_for_post(viewer=request.user, post=post))
        users = [like.user for like in page]
        return self.get_paginated_response(AuthorSerializer(users, many=True, context={"request": request}).data)
