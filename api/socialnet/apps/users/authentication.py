"""Bearer-token authentication for the whole API, with the `read`/`write` scope rule applied in one place."""

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS


class ScopedOAuth2Authentication(OAuth2Authentication):
    """
    - A request carrying a bearer token that is invalid, expired or revoked gets 401, even on public endpoints
      (DOT's default silently treats it as anonymous, which hides client bugs and stale sessions).
    - Reads need the `read` scope, everything else `write`: enforced here so no view can forget it.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.lower().startswith("bearer "):
            return None
        result = super().authenticate(request)
        if result is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked access token.")
        user, token = result
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This account is not active.")
        needed = "read" if request.method in SAFE_METHODS else "write"
        if not token.allow_scopes([needed]):
            raise exceptions.PermissionDenied(f"This token lacks the '{needed}' scope.")
        return user, token
