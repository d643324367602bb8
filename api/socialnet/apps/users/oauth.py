"""django-oauth-toolkit customisations."""

from django.conf import settings
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator

from apps.common.parsers import json_loads_limited

INTROSPECTION_SCOPE = "introspection"


class JsonOrFormOAuthLibCore(OAuthLibCore):
    """Token, revoke and introspect endpoints accept JSON bodies as well as the standard form encoding.

    Mobile clients commonly send JSON; API.md promises both. Form bodies keep DOT's own parsing.
    """

    def extract_body(self, request):
        content_type = request.META.get("CONTENT_TYPE", "")
        if not content_type.startswith("application/json"):
            return super().extract_body(request)
        try:
            # Depth-limited: a body of nested brackets is a malformed request (400), not a RecursionError (500).
            payload = json_loads_limited(request.body or b"{}")
        except ValueError:  # UnicodeDecodeError and too-deep JSON included
            return []
        if not isinstance(payload, dict):
            return []
        # oauthlib expects strings; anything nested is nonsense for these endpoints and is dropped.
        return [(str(key), str(value)) for key, value in payload.items() if isinstance(value, str | int)]


class SocialNetOAuth2Validator(OAuth2Validator):
    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        # `introspection` makes /o/introspect/ answer whose any token is: the gateway's client only (API.md).
        # Refused, not silently dropped, so a client asking for it learns at once that it cannot have it.
        if INTROSPECTION_SCOPE in scopes and client.client_id != settings.GATEWAY_CLIENT_ID:
            return False
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        # Suspension and deactivation delete outstanding codes; this also covers a code issued while that
        # transaction was still running: an inactive user's code is never exchanged.
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        return valid and request.user is not None and request.user.is_active

    def validate_bearer_token(self, token, scopes, request):
        # A deactivated or suspended account's tokens stop working even before the cleanup deletes them.
        valid = super().validate_bearer_token(token, scopes, request)
        return valid and request.user is not None and request.user.is_active
