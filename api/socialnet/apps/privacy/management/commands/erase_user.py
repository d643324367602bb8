from django.core.management.base import BaseCommand, CommandError

from apps.privacy.services import user_erase_now
from apps.users.models import User


class Command(BaseCommand):
    help = (
        "Erase an account now, without the grace period (a legal request), e.g. "
        '`manage.py erase_user bob --reason "GDPR request #123"`. Recorded in the moderation log.'
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="why (e.g. the request's reference); kept in the log")

    def handle(self, *args, username, reason, **options):
        if not reason.strip():
            raise CommandError("--reason must say why.")
        user = User.objects.named(username).filter(erased_at__isnull=True).first()
        if user is None:
            raise CommandError(f"No account named {username!r} left to erase.")
        # actor=None: an operator with shell access, recorded as such in the log (like grant_premium).
        user_erase_now(user=user, reason=reason.strip())
        self.stdout.write(f"{user.username}: erased (the username stays reserved)")
