"""Idempotent creation of the project's own OAuth clients (demo app, gateway)."""

from django.conf import settings
from oauth2_provider.models import get_application_model

Application = get_application_model()


def demo_client_ensure() -> tuple[object, bool]:
    """The public PKCE client used by Swagger UI and the README's curl walkthrough."""
    app, created = Application.objects.update_or_create(
        client_id=settings.DEMO_CLIENT_ID,
        defaults={
            "name": "SocialNet demo client",
            "client_type": Application.CLIENT_PUBLIC,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": " ".join(settings.DEMO_REDIRECT_URIS),
            "skip_authorization": False,
            "algorithm": "",
        },
    )
    return app, created


def gateway_client_ensure(*, secret: str) -> tuple[object, bool]:
    """The gateway's confidential client: it may only introspect tokens (client credentials, no users)."""
    app, created = Application.objects.update_or_create(
        client_id=settings.GATEWAY_CLIENT_ID,
        defaults={
            "name": "SocialNet API gateway",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            "redirect_uris": "",
            "skip_authorization": True,
            "algorithm": "",
            "client_secret": secret,
            # The gateway authenticates on every introspection cache miss. A slow password hash (PBKDF2, ~0.75 s
            # of CPU here) guards guessable user passwords; this is a long random machine secret, and hashing it
            # made every miss cost a CPU-second and time out under load. Compared in constant time instead.
            "hash_client_secret": False,
        },
    )
    return app, created
