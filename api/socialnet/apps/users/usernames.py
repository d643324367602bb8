r"""The whole rule for a new username, applied by `user_create` whoever calls it (API, demo data, shell).

ASCII letters, digits and underscore only: Unicode letters let `\u0430lice` (a Cyrillic a) pass for `alice`,
and full-width `\uff41\uff4c\uff49\uff43\uff45` was stored as typed but normalised by the login form, so it
could never sign in. Existing accounts whose names predate the rule are left alone: login and profiles look
names up, they never re-validate.
"""

import re

from rest_framework.exceptions import ValidationError

from .models import User

USERNAME_MAX_LENGTH = 30
# [A-Za-z0-9_] spelled out, not \w: \w matches every script's letters and digits. fullmatch, so no trailing "\n".
USERNAME_PATTERN = re.compile(rf"[A-Za-z0-9_]{{1,{USERNAME_MAX_LENGTH}}}")
# Paths under /users/ a username must never shadow, and names that would look official.
RESERVED_USERNAMES = frozenset(
    {
        "me",
        "create",
        "suggestions",
        "relationships",
        "admin",
        "administrator",
        "root",
        "api",
        "support",
        "moderation",
        "moderator",
        "staff",
        "system",
        "socialnet",
    }
)


def username_validate_new(username: str) -> str:
    """The username if a new account may take it; else a 400-style ValidationError on `username`."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise ValidationError(
            {"username": [f"Use 1 to {USERNAME_MAX_LENGTH} characters: ASCII letters, digits and underscores only."]}
        )
    if username.lower() in RESERVED_USERNAMES:
        raise ValidationError({"username": ["This username is reserved."]})
    # Case-insensitive like the database constraint, which still decides when two sign-ups race past this check.
    if User.objects.named(username).exists():
        raise ValidationError({"username": ["A user with that username already exists."]})
    return username
