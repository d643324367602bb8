from django.core.management.base import BaseCommand, CommandError

from apps.moderation.services import premium_grant
from apps.users.models import User


class Command(BaseCommand):
    help = "Grant (or extend) premium for users, e.g. `manage.py grant_premium alice bob --days 30`."

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="+")
        parser.add_argument("--days", type=int, default=30, help="days to add (default 30)")
        parser.add_argument("--reason", default="", help="recorded in the moderation log")

    def handle(self, *args, usernames, days, reason, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        for username in usernames:
            user = User.objects.named(username).first()
            if user is None:
                raise CommandError(f"No user named {username!r}.")
            # actor=None: a script run by an operator with shell access, recorded as such in the log.
            user = premium_grant(user=user, actor=None, days=days, reason=reason or f"{days} days (command line)")
            self.stdout.write(f"{user.username}: premium until {user.premium_until:%Y-%m-%d %H:%M} UTC")
