from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.users.oauth_clients import gateway_client_ensure


class Command(BaseCommand):
    help = "Create or update the gateway's confidential client used for token introspection. Safe to re-run."

    def handle(self, *args, **options):
        secret = settings.GATEWAY_CLIENT_SECRET
        if not secret:
            raise CommandError("GATEWAY_CLIENT_SECRET is not set: put the gateway's client secret in the environment.")
        app, created = gateway_client_ensure(secret=secret)
        self.stdout.write(f"Gateway client {app.client_id} {'created' if created else 'up to date'}")
