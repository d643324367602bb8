"""Issue real OAuth2 access tokens for tests without walking the whole PKCE flow each time."""

import secrets

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value

from apps.users.oauth_clients import demo_client_ensure


def issue_access_token(user, *, scope: str = "read write", expires_in: int = 3600) -> str:
    """A token exactly like one the token endpoint would store (hashed at rest), returned in clear."""
    application = get_application_model().objects.filter(client_id=demo_client_ensure()[0].client_id).first()
    raw = secrets.token_urlsafe(30)
    token = get_access_token_model()(
        user=user,
        application=application,
        scope=scope,
        expires=timezone.now() + timezone.timedelta(seconds=expires_in),
    )
    set_token_value(token, raw)
    token.save()
    return raw
