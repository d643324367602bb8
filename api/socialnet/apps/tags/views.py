from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import IdCursorPagination
from apps.posts.serializers import PostSerializer, post_rows_payload

from . import selectors, services
from .serializers import TagSerializer, TrendingTagSerializer


def _tag_payload(request, tag) -> dict:
    return {
        "name": tag.name,
        "posts_count": selectors.tag_posts_count(viewer=request.user, tag=tag),
        "following": selectors.tag_is_followed(viewer=request.user, tag=tag),
    }


class TagDetailView(APIView):
    """GET /tags/{name}/."""

    permission_classes = [AllowAny]

    @extend_schema(responses=TagSerializer)
    def get(self, request, name: str):
        tag = selectors.tag_get(name=name)
        return Response(TagSerializer(_tag_payload(request, tag)).data)


class TagPostsView(GenericAPIView):
    """GET /tags/{name}/posts/: the tag's posts the caller may see, newest first."""

    permission_classes = [AllowAny]
    pagination_class = IdCursorPagination
    serializer_class = PostSerializer

    @extend_schema(responses=PostSerializer(many=True))
    def get(self, request, name: str):
        key = selectors.tag_key_from_path(name)
        page = self.paginate_queryset(selectors.tag_posts(viewer=request.user, key=key))
        # A page with posts proves the tag exists; only an empty one asks whether it was ever used (else 404).
        if not page and not selectors.tag_exists(key=key):
            raise Http404("No such tag.")
        return self.get_paginated_response(post_rows_payload(page, request=request))


class TrendingTagsView(APIView):
    """GET /tags/trending/: tags of the last 24 h by distinct authors (cached, refreshed by beat)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=TrendingTagSerializer(many=True))
    def get(self, request):
        return Response(TrendingTagSerializer(selectors.trending_tags(), many=True).data)


class TagFollowView(APIView):
    """POST/DELETE /tags/{name}/follow/."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: TagSerializer, 201: TagSerializer})
    def post(self, request, name: str):
        tag = selectors.tag_get(name=name)
        created = services.tag_follow(user=request.user, tag=tag)
        return Response(
            TagSerializer(_tag_payload(request, tag)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, name: str):
        tag = selectors.tag_get(name=name)
        services.tag_unfollow(user=request.user, tag=tag)
        return Response(status=status.HTTP_204_NO_CONTENT)
