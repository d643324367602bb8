from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import IdCursorPagination
from apps.users.models import User
from apps.users.selectors import user_public_queryset
from apps.users.serializers import PublicProfileSerializer

from . import selectors, services


def _target(username: str) -> User:
    # Any active account, including one that blocks you: blocking back must work, and answering 404 there while
    # other names answer 201 would be the only thing telling you they blocked you.
    return get_object_or_404(user_public_queryset(), username__iexact=username)


class BlockView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: PublicProfileSerializer, 201: PublicProfileSerializer})
    def post(self, request, username: str):
        target = _target(username)
        _, created = services.block_create(blocker=request.user, blocked=target)
        target.refresh_from_db(fields=["followers_count", "following_count", "posts_count"])
        return Response(
            PublicProfileSerializer(target, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={204: None})
    def delete(self, request, username: str):
        # Any existing account, closed ones included, like unfollowing: the block must not outlive the way to undo
        # it. Unknown names stay 404.
        target = get_object_or_404(User, username__iexact=username)
        services.block_delete(blocker=request.user, blocked=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyBlocksView(GenericAPIView):
    """GET /users/me/blocks/: profiles you block, newest block first (the cursor runs over block ids)."""

    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination
    serializer_class = PublicProfileSerializer

    @extend_schema(responses=PublicProfileSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.block_list(user=request.user))
        profiles = [block.blocked for block in page]  # nobody follows across a block: is_following stays false
        return self.get_paginated_response(
            PublicProfileSerializer(profiles, many=True, context={"request": request}).data
        )
