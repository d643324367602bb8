"""Every write to accounts goes through here."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from rest_framework.exceptions import ValidationError

from . import lifecycle, signals
from .avatars import avatar_handler
from .models import User
from .usernames import username_validate_new


@transaction.atomic
def user_create(*, username: str, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Sign-up. Role, staff and premium always start at their defaults, whatever the caller had in mind.

    The username rule (ASCII pattern, reserved names, case-insensitive uniqueness) is checked here, not in a
    serializer, so no caller can create `me` or a look-alike name."""
    username_validate_new(username)
    user = User(username=username, email=email.strip(), first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Two sign-ups racing past the serializer's checks: the case-insensitive constraints decide.
        raise ValidationError({"username": ["A user with that username or email already exists."]}) from exc
    lifecycle.email_verification_enqueue(user)
    return user


@transaction.atomic
@transaction.atomic
def user_update_profile(*, user: User, data: dict) -> User:
    """Edit the profile. Going public (is_private true → false) is announced after commit: the follows app then
    accepts the pending follow requests (API.md), which users cannot do itself (follows sits above it)."""
    went_public = user.is_private and data.get("is_private") is False
    fields = [name for name in ("first_name", "last_name", "bio", "is_private") if name in data]
    for name in fields:
        setattr(user, name, data[name])
    if "avatar_id" in data:  # an image of the user's own, or None to clear it
        user.avatar = avatar_handler().choose(user=user, image_id=data["avatar_id"])
        fields.append("avatar")
    if "email" in data:  # not applied here: it waits for the new address to be verified
        lifecycle.email_change_request(user=user, address=data["email"])
    if fields:
        user.save(update_fields=fields)
    if went_public:
        signals.account_made_public.send(sender=User, user_id=user.pk)
    return user


def user_revoke_tokens(*, user: User) -> None:
    """Make every token of the user stop working now (sign-out everywhere), and every authorization code not
    yet exchanged: a code issued a minute before a suspension must not become a fresh token after it."""
    get_grant_model().objects.filter(user=user).delete()
    get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).delete()
    get_access_token_model().objects.filter(user=user).delete()


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Closing an account: the row stays (content, usernames and reports keep their meaning) but is inert."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    user_revoke_tokens(user=user)


def user_set_role(*, user: User, role: str) -> User:
    """Staff access to the Django admin follows the role; superuser power only for admins."""
    user.role = role
    user.is_staff = role in (User.Role.MODERATOR, User.Role.ADMIN)
    user.is_superuser = role == User.Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    return user
