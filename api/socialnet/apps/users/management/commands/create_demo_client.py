from django.core.management.base import BaseCommand

from apps.users.oauth_clients import demo_client_ensure


class Command(BaseCommand):
    help = "Create or update the demo public OAuth2 client (PKCE) and print its client_id. Safe to re-run."

    def handle(self, *args, **options):
        app, created = demo_client_ensure()
        self.stdout.write(self.style.SUCCESS(f"Demo OAuth client {'created' if created else 'up to date'}"))
        self.stdout.write(f"  client_id:     {app.client_id}")
        for uri in app.redirect_uris.split():
            self.stdout.write(f"  redirect_uri:  {uri}")
