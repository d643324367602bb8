from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import OldestFirstCursorPagination, page_response, page_schema, page_size_from
from apps.users.models import User
from apps.users.selectors import user_get_named, user_get_public
from apps.users.serializers import PublicProfileSerializer
from apps.users.visibility import hidden_accounts

from . import selectors, services


class FollowResultSerializer(PublicProfileSerializer):
    """The followee's profile after POST follow; `requested`: a follow request awaits their approval (202)."""

    requested = serializers.BooleanField(read_only=True)

    class Meta(PublicProfileSerializer.Meta):
        fields = [*PublicProfileSerializer.Meta.fields, "requested"]
        read_only_fields = fields


class FollowView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: FollowResultSerializer, 201: FollowResultSerializer, 202: FollowResultSerializer},
    )
    def post(self, request, username: str):
        # Blocked either way: 404, as if the account did not exist (the rule is apps.safety's, via users).
        followee = user_get_public(username=username, viewer=request.user)
        outcome = services.follow_or_request(follower=request.user, followee=followee)
        followee.refresh_from_db(fields=["followers_count", "following_count", "posts_count"])
        followee.is_following = outcome != "requested"
        followee.requested = outcome == "requested"
        codes = {"followed": status.HTTP_201_CREATED, "already": status.HTTP_200_OK}
        return Response(
            FollowResultSerializer(followee, context={"request": request}).data,
            status=codes.get(outcome, status.HTTP_202_ACCEPTED),
        )

    @extend_schema(responses={204: None})
    def delete(self, request, username: str):
        # Any existing account, suspended or closed included: unfollowing must work (and stay idempotent) even
        # when the profile is hidden, or the follow would come back with the account. Unknown names stay 404.
        followee = user_get_named(username=username)
        services.follow_delete(follower=request.user, followee=followee)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _FollowListView(ListAPIView):
    """Profiles on one side of a user's follows, newest follow first (the cursor runs over follow ids)."""

    permission_classes = [AllowAny]
    serializer_class = PublicProfileSerializer
    side = ""  # "follower" or "followee": which end of the Follow row to show

    def list(self, request, *args, **kwargs):
        viewer = request.user
        hidden = hidden_accounts(viewer)  # a cache read: once for the account's lookup and its list
        owner = selectors.follow_lists_owner(username=self.kwargs["username"], viewer=viewer, hidden=hidden)
        page = self.paginate_queryset(selectors.follow_list(owner=owner, side=self.side, viewer=viewer, hidden=hidden))
        profiles = []
        for follow in page:
            profile = getattr(follow, self.side)
            profile.is_following = follow.viewer_follows
            profiles.append(profile)
        return self.get_paginated_response(
            PublicProfileSerializer(profiles, many=True, context={"request": request}).data
        )


class FollowersView(_FollowListView):
    side = "follower"


class FollowingView(_FollowListView):
    side = "followee"


class SuggestionsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("page_size", OpenApiTypes.INT)],
        responses=page_schema("SuggestionsPage", PublicProfileSerializer),
    )
    def get(self, request):
        users = selectors.user_suggestions(user=request.user, limit=page_size_from(request))
        # One page only: suggestions are recomputed on every call, so there is nothing stable to page through.
        return page_response(request, PublicProfileSerializer(users, many=True, context={"request": request}).data)


class FollowRequestsView(GenericAPIView):
    """GET /users/me/follow-requests/: accounts waiting for your approval, oldest first."""

    permission_classes = [IsAuthenticated]
    pagination_class = OldestFirstCursorPagination
    serializer_class = PublicProfileSerializer

    @extend_schema(responses=PublicProfileSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.follow_requests_for(user=request.user))
        profiles = []
        for row in page:
            row.requester.is_following = row.viewer_follows
            profiles.append(row.requester)
        return self.get_paginated_response(
            PublicProfileSerializer(profiles, many=True, context={"request": request}).data
        )


class FollowRequestAcceptView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: PublicProfileSerializer})
    def post(self, request, username: str):
        requester = user_get_named(username=username, queryset=User.objects.filter(is_active=True))
        services.follow_request_accept(target=request.user, requester=requester)
        requester.refresh_from_db(fields=["followers_count", "following_count", "posts_count"])
        return Response(PublicProfileSerializer(requester, context={"request": request}).data)


class FollowRequestRejectView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request, username: str):
        requester = user_get_named(username=username)
        services.follow_request_reject(target=request.user, requester=requester)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RemoveFollowerView(APIView):
    """DELETE /users/me/followers/{username}/: they no longer follow you (idempotent)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, username: str):
        follower = user_get_named(username=username)
        services.follow_delete(follower=follower, followee=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
