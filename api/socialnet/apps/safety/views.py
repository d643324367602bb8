from datetime import timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import IdCursorPagination, OldestFirstCursorPagination
from apps.users.models import User
from apps.users.selectors import user_get_named, user_public_queryset
from apps.users.serializers import PublicProfileSerializer

from . import selectors, services
from .serializers import (
    KeywordFilterSerializer,
    MuteInputSerializer,
    MuteSerializer,
    RelationshipSerializer,
    RelationshipsQuerySerializer,
)


def _target(username: str) -> User:
    # Any active account, including one that blocks you: blocking back must work, and answering 404 there while
    # other names answer 201 would be the only thing telling you they blocked you.
    return user_get_named(username=username, queryset=user_public_queryset())


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
        target = user_get_named(username=username)
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


class MuteView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=MuteInputSerializer, responses={200: MuteSerializer, 201: MuteSerializer})
    def post(self, request, username: str):
        target = _target(username)
        data = MuteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        seconds = data.validated_data["duration_seconds"]
        mute, created = services.mute_set(
            muter=request.user,
            muted=target,
            duration=timedelta(seconds=seconds) if seconds is not None else None,
            notifications=data.validated_data["notifications"],
        )
        target.is_following = request.user.following_set.filter(followee_id=target.pk).exists()
        mute.muted = target
        return Response(
            MuteSerializer(mute, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={204: None})
    def delete(self, request, username: str):
        target = user_get_named(username=username)
        services.mute_delete(muter=request.user, muted=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyMutesView(GenericAPIView):
    """GET /users/me/mutes/: mutes in force, newest first. Private to you: nobody else, staff included, sees them."""

    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination
    serializer_class = MuteSerializer

    @extend_schema(responses=MuteSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.mute_list(user=request.user))
        for mute in page:
            mute.muted.is_following = mute.follows_muted
        return self.get_paginated_response(MuteSerializer(page, many=True, context={"request": request}).data)


class RelationshipsView(APIView):
    """GET /users/relationships/?usernames=a,b: what buttons to draw for each account (not paginated: ≤ 50)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("usernames", OpenApiTypes.STR, required=True)],
        responses=RelationshipSerializer(many=True),
    )
    def get(self, request):
        query = RelationshipsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        users = selectors.relationships(viewer=request.user, usernames=query.validated_data["usernames"])
        return Response(RelationshipSerializer(users, many=True).data)


class KeywordFilterListView(GenericAPIView):
    """GET/POST /filters/: your keyword filters, oldest first; private to you."""

    permission_classes = [IsAuthenticated]
    pagination_class = OldestFirstCursorPagination
    serializer_class = KeywordFilterSerializer

    @extend_schema(responses=KeywordFilterSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.keyword_filter_list(user=request.user))
        return self.get_paginated_response(KeywordFilterSerializer(page, many=True).data)

    @extend_schema(request=KeywordFilterSerializer, responses={201: KeywordFilterSerializer})
    def post(self, request):
        data = KeywordFilterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.keyword_filter_create(owner=request.user, data=data.validated_data)
        return Response(KeywordFilterSerializer(created).data, status=status.HTTP_201_CREATED)


class KeywordFilterDetailView(APIView):
    """GET/PATCH/DELETE /filters/{id}/: one of yours (anyone else's → 404)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=KeywordFilterSerializer)
    def get(self, request, filter_id: int):
        return Response(
            KeywordFilterSerializer(selectors.keyword_filter_get(user=request.user, filter_id=filter_id)).data
        )

    @extend_schema(request=KeywordFilterSerializer, responses=KeywordFilterSerializer)
    def patch(self, request, filter_id: int):
        keyword_filter = selectors.keyword_filter_get(user=request.user, filter_id=filter_id)
        data = KeywordFilterSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        keyword_filter = services.keyword_filter_update(keyword_filter=keyword_filter, data=data.validated_data)
        return Response(KeywordFilterSerializer(keyword_filter).data)

    @extend_schema(responses={204: None})
    def delete(self, request, filter_id: int):
        keyword_filter = selectors.keyword_filter_get(user=request.user, filter_id=filter_id)
        services.keyword_filter_delete(keyword_filter=keyword_filter)
        return Response(status=status.HTTP_204_NO_CONTENT)
