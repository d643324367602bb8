from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import OldestFirstCursorPagination
from apps.common.permissions import ReadOnlyOrAuthenticated
from apps.posts.selectors import post_get_unlocked

from . import selectors, services
from .serializers import (
    CommentCreateSerializer,
    CommentListQuerySerializer,
    CommentSerializer,
    CommentUpdateSerializer,
    thread_payload,
)


class PostCommentsView(GenericAPIView):
    """GET/POST /posts/{id}/comments/: as visible as the post; a locked post's comments are refused (403)."""

    permission_classes = [ReadOnlyOrAuthenticated]
    pagination_class = OldestFirstCursorPagination
    serializer_class = CommentSerializer

    @extend_schema(
        parameters=[OpenApiParameter("parent", int, description="list the replies to this comment instead")],
        responses=CommentSerializer(many=True),
    )
    def get(self, request, post_id: int):
        parent_id = None
        if "parent" in request.query_params:  # most pages are top level: no serializer to run for them
            post = post_get_unlocked(viewer=request.user, post_id=post_id)
            query = CommentListQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            parent_id = query.validated_data["parent"]
            selectors.comment_get_for_post(viewer=request.user, post=post, comment_id=parent_id)
        # The thread's query only returns comments of a post the viewer may open: a page with comments needs no
        # access check of its own, an empty one finds out here whether the post is hidden (404) or locked (403).
        page = self.paginate_queryset(
            selectors.comment_thread_source(viewer=request.user, post_id=post_id, parent_id=parent_id)
        )
        if not page:
            post_get_unlocked(viewer=request.user, post_id=post_id)
        return self.get_paginated_response(thread_payload(page, request=request))

    @extend_schema(request=CommentCreateSerializer, responses={201: CommentSerializer})
    def post(self, request, post_id: int):
        post = post_get_unlocked(viewer=request.user, post_id=post_id)
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parent_id = serializer.validated_data.get("parent")
        if parent_id is not None and selectors.comment_author_hidden(viewer=request.user, comment_id=parent_id):
            # Replying to someone a block stands between is refused like anything hidden (404). Whether the parent
            # is a live comment of this post is the service's to check (400), under the post lock.
            raise Http404("Not found.")
        comment = services.comment_create(
            post=post,
            author=request.user,
            text=serializer.validated_data["text"],
            parent_id=serializer.validated_data.get("parent"),
        )
        return Response(CommentSerializer(comment, context={"request": request}).data, status=status.HTTP_201_CREATED)


class CommentDetailView(APIView):
    """GET/PATCH/DELETE /comments/{id}/: visible as its post; content of a locked post's comment is refused."""

    permission_classes = [ReadOnlyOrAuthenticated]

    def _get(self, request, comment_id: int, *, allow_locked: bool = False):
        comment, post = selectors.comment_get_visible(viewer=request.user, comment_id=comment_id)
        if post.is_locked and not allow_locked:
            raise PermissionDenied("This post is for premium members.")
        return comment, post

    @extend_schema(responses=CommentSerializer)
    def get(self, request, comment_id: int):
        comment, _ = self._get(request, comment_id)
        return Response(CommentSerializer(comment, context={"request": request}).data)

    @extend_schema(request=CommentUpdateSerializer, responses=CommentSerializer)
    def patch(self, request, comment_id: int):
        comment, _ = self._get(request, comment_id)
        if not services.comment_can_edit(comment=comment, actor=request.user):
            raise PermissionDenied("Only the author may edit this comment.")
        # Partial like every PATCH (the schema makes `text` optional): `{}` changes nothing and answers the comment.
        serializer = CommentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "text" in serializer.validated_data:
            comment = services.comment_update(
                comment=comment, actor=request.user, text=serializer.validated_data["text"]
            )
        return Response(CommentSerializer(comment, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, comment_id: int):
        # Deleting reveals nothing of a locked post, so a comment's author whose premium lapsed may still do it.
        comment, post = selectors.comment_get_for_delete(viewer=request.user, comment_id=comment_id)
        services.comment_delete(comment=comment, post=post, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
