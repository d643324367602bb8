from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.throttling import FailOpenRequestRateThrottle, FailOpenScopedRateThrottle

from . import lifecycle, selectors, services
from .serializers import (
    AccountDeleteSerializer,
    DetailSerializer,
    EmailVerifiedSerializer,
    EmailVerifySerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    PrivateProfileSerializer,
    ProfileUpdateSerializer,
    PublicProfileSerializer,
    UserCreateSerializer,
)
from .throttles import LifecycleRateThrottle, PasswordResetAddressThrottle


class UserCreateView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [FailOpenRequestRateThrottle, FailOpenScopedRateThrottle]
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

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "DELETE":  # checks the password: guessing it is throttled like a password change
            self.throttle_scope = "password_change"
            return [*throttles, LifecycleRateThrottle()]
        if self.request.method == "PATCH" and isinstance(self.request.data, dict) and "email" in self.request.data:
            # Each change mails a link to an address of the caller's choosing: counted like a resend, so that an
            # account cannot be used to flood someone else's mailbox.
            self.throttle_scope = "email_verification_resend"
            return [*throttles, LifecycleRateThrottle()]
        return throttles

    # OpenAPI 3.0 tools drop DELETE bodies (drf-spectacular too), so the body is described in words.
    @extend_schema(
        responses={204: None},
        description='Body `{"password": "..."}` (400 when wrong). Closes the account at once: hidden, every token '
        "revoked; erased after ACCOUNT_DELETION_GRACE_DAYS unless its owner signs in again before that.",
    )
    def delete(self, request):
        serializer = AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lifecycle.account_delete_request(user=request.user, password=serializer.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublicProfileView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PublicProfileSerializer)
    def get(self, request, username: str):
        user = selectors.user_get_profile(username=username, viewer=request.user)
        return Response(PublicProfileSerializer(user).data)


# --- Account lifecycle (API.md): the HTML pages in pages.py call the same services ------------------------------
class EmailVerifyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=EmailVerifySerializer, responses={200: EmailVerifiedSerializer}, auth=[])
    def post(self, request):
        serializer = EmailVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = lifecycle.email_verify(token=serializer.validated_data["token"])
        return Response({"email_verified": user.email_verified})


class EmailVerificationResendView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [LifecycleRateThrottle]
    throttle_scope = "email_verification_resend"

    @extend_schema(request=None, responses={202: DetailSerializer})
    def post(self, request):
        lifecycle.email_verification_resend(user=request.user)
        return Response({"detail": "A verification email is on its way."}, status=status.HTTP_202_ACCEPTED)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [LifecycleRateThrottle]
    throttle_scope = "password_change"

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lifecycle.password_change(user=request.user, keep_token=request.auth, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


PASSWORD_RESET_ACCEPTED = {"detail": "If an account uses this address, a link to reset its password is on its way."}


class PasswordResetView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LifecycleRateThrottle, PasswordResetAddressThrottle]
    throttle_scope = "password_reset"
    throttle_address_scope = "password_reset_address"

    @extend_schema(request=PasswordResetSerializer, responses={202: DetailSerializer}, auth=[])
    def post(self, request):
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lifecycle.password_reset_request(email=serializer.validated_data["email"])
        return Response(PASSWORD_RESET_ACCEPTED, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    # Per client address, like the request: the token is unguessable, this only keeps a scanner from hammering.
    throttle_classes = [LifecycleRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(request=PasswordResetConfirmSerializer, responses={204: None}, auth=[])
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lifecycle.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
