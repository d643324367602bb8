from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.throttling import FailOpenAnonRateThrottle, FailOpenScopedRateThrottle

from . import selectors, services
from .serializers import (
    PrivateProfileSerializer,
    ProfileUpdateSerializer,
    PublicProfileSerializer,
    UserCreateSerializer,
)


class UserCreateView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [FailOpenAnonRateThrottle, FailOpenScopedRateThrottle]
    throttle_scope = "signup"

    @extend_schema(request=UserCreateSerializer, responses={201: PrivateProfileSerializer}, auth=[])
    def post(self, request):
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(PrivateProfileSerializer(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PrivateProfileSerializer)
    def get(self, request):
        return Response(PrivateProfileSerializer(request.user).data)

    @extend_schema(request=ProfileUpdateSerializer, responses=PrivateProfileSerializer)
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, data=serializer.validated_data)
        return Response(PrivateProfileSerializer(user).data)

    @extend_schema(responses={204: None})
    def delete(self, request):
        services.user_deactivate(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublicProfileView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PublicProfileSerializer)
    def get(self, request, username: str):
        user = selectors.user_get_profile(username=username, viewer=request.user)
        return Response(PublicProfileSerializer(user).data)
