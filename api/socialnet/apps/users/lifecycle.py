"""Account lifecycle services: proving an email address, changing it, changing and resetting the password,
closing the account (its erasure, which touches every app, is apps.privacy's).

Emails go out through tasks on `default`, enqueued in the transaction that calls for them (the outbox: sent only
if it commits, even if the broker is down then); the tasks call the `*_send` functions below, which
make the token at send time, so no token ever waits in the broker and a retried task mails a token that is valid.
"""

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.exceptions import ValidationError

from apps.common.tasks import enqueue

from . import services, tasks, tokens
from .emails import email_send, public_url
from .models import User

INVALID_TOKEN = "This link is invalid, already used or expired. Ask for a new one."
ADDRESS_TAKEN = "A user with that email already exists."


def _validate_new_password(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from exc


def _address_taken(address: str, *, except_user: User) -> bool:
    return User.objects.with_email(address).exclude(pk=except_user.pk).exists()


# --- Email verification ---------------------------------------------------------------------------------------
def email_verification_address(user: User) -> str:
    """The address waiting to be verified: a pending change first, else the unverified account address, else ""."""
    if user.pending_email:
        return user.pending_email
    return "" if user.email_verified else user.email


def email_verification_enqueue(user: User) -> None:
    enqueue(tasks.email_verification_send_task, user.pk)


def email_verification_resend(*, user: User) -> None:
    if not email_verification_address(user):
        raise ValidationError({"email": ["Your email address is already verified."]})
    email_verification_enqueue(user)


def email_verification_send(*, user_id: int) -> None:
    """Task body: mail a link to the address waiting for verification; nothing when there is none (any more)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    address = email_verification_address(user) if user else ""
    if not address:
        return
    token = tokens.email_verification_token_make(user=user, address=address)
    context = {
        "user": user,
        "address": address,
        "is_change": bool(user.pending_email),
        "link": public_url("/accounts/verify-email/", token=token),
        "hours": settings.EMAIL_VERIFICATION_TIMEOUT // 3600,
    }
    email_send(to=address, template="verify_email", context=context)


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Mark the address the token was made for as verified; a pending change takes effect now."""
    read = tokens.email_verification_token_read(token)
    # Locked: two clicks on the same link at once must not both succeed.
    user = User.objects.select_for_update().filter(pk=read[0], is_active=True).first() if read else None
    if user is None:
        raise ValidationError({"token": [INVALID_TOKEN]})
    fingerprint = read[1]
    if user.pending_email and tokens.email_verification_token_matches(fingerprint, user.pending_email):
        if _address_taken(user.pending_email, except_user=user):  # someone signed up with it meanwhile
            raise ValidationError({"token": [ADDRESS_TAKEN]})
        user.email, user.pending_email, user.email_verified = user.pending_email, "", True
    elif not user.email_verified and tokens.email_verification_token_matches(fingerprint, user.email):
        user.email_verified = True
    else:  # already used, or made for an address that has been replaced since
        raise ValidationError({"token": [INVALID_TOKEN]})
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "pending_email", "email_verified"])
    except IntegrityError as exc:  # the case-insensitive unique constraint, in a race with a sign-up
        raise ValidationError({"token": [ADDRESS_TAKEN]}) from exc
    return user


def email_change_request(*, user: User, address: str) -> None:
    """`PATCH /users/me/ {email}`, inside the profile update's transaction. The account keeps its address (logins,
    resets, notices) until the new one is verified, so a typo or a stolen token cannot redirect its mail."""
    address = address.strip()
    if address.lower() == user.email.lower():
        user.pending_email = ""  # asking for the current address back cancels a pending change
    else:
        if _address_taken(address, except_user=user):
            raise ValidationError({"email": [ADDRESS_TAKEN]})
        user.pending_email = address
        email_verification_enqueue(user)
        # Only a proven address is told: an unverified one may be a stranger's (a typo at sign-up).
        if user.email_verified:
            enqueue(tasks.email_change_notice_task, user.pk, user.email, address)
    user.save(update_fields=["pending_email"])


def email_change_notice_send(*, user_id: int, old_address: str, new_address: str) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    email_send(to=old_address, template="email_change_notice", context={"user": user, "new_address": new_address})


# --- Password change and reset --------------------------------------------------------------------------------
def _tokens_revoke_all_but(*, user: User, keep=None) -> None:
    """Sign out every other session: the token making this request (and its refresh token) keeps working."""
    refresh_tokens = get_refresh_token_model().objects.filter(user=user, revoked__isnull=True)
    access_tokens = get_access_token_model().objects.filter(user=user)
    if keep is not None:
        refresh_tokens = refresh_tokens.exclude(access_token=keep)
        access_tokens = access_tokens.exclude(pk=keep.pk)
    refresh_tokens.delete()
    access_tokens.delete()


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str, keep_token=None) -> None:
    if not user.check_password(current_password):
        raise ValidationError({"current_password": ["The current password is not correct."]})
    _validate_new_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    keep = keep_token if isinstance(keep_token, get_access_token_model()) else None
    _tokens_revoke_all_but(user=user, keep=keep)
    enqueue(tasks.password_changed_notice_task, user.pk)


def password_changed_notice_send(*, user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    email_send(to=user.email, template="password_changed", context={"user": user})


def password_reset_request(*, email: str) -> None:
    """The request does the same work whoever the address belongs to, or nobody: the lookup happens in the task,
    so neither the answer nor its timing tells whether an account exists (in the embedded mode, where tasks run
    inline, the timing does; that mode is for one developer's machine)."""
    enqueue(tasks.password_reset_send_task, email.strip())


def password_reset_send(*, address: str) -> None:
    """Task body: mail a reset link to the account with this address, if there is one."""
    user = User.objects.with_email(address).filter(is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    token = tokens.password_reset_token_make(user=user)
    context = {
        "user": user,
        "link": public_url("/accounts/reset-password/", token=token),
        "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
    }
    # To the stored address, never the typed one: a look-alike (case, Unicode tricks) must not receive the link.
    email_send(to=user.email, template="password_reset", context=context)


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Set a new password with a reset token; every token of the user dies (whoever had the account is out)."""
    user = tokens.password_reset_token_user(token, lock=True)
    if user is None:
        raise ValidationError({"token": [INVALID_TOKEN]})
    _validate_new_password(new_password, user)
    user.set_password(new_password)  # this alone voids the token: its hash covers the password hash
    # The link was mailed to the account's address, so following it proves that address.
    user.email_verified = True
    user.save(update_fields=["password", "email_verified"])
    services.user_revoke_tokens(user=user)
    enqueue(tasks.password_changed_notice_task, user.pk)
    return user


# --- Account deletion -----------------------------------------------------------------------------------------
@transaction.atomic
def account_delete_request(*, user: User, password: str) -> None:
    """Close the account now (inactive: hidden everywhere, tokens revoked); apps.privacy erases it for good after
    ACCOUNT_DELETION_GRACE_DAYS unless the owner signs in before that."""
    if not user.check_password(password):
        raise ValidationError({"password": ["The password is not correct."]})
    user.deletion_requested_at = timezone.now()
    user.save(update_fields=["deletion_requested_at"])
    services.user_deactivate(user=user)


def account_deletion_cancel(*, user: User) -> bool:
    """Reopen an account its owner closed, if it is still in its grace period; True if it was reopened."""
    reopened = User.objects.filter(
        pk=user.pk, is_active=False, deletion_requested_at__isnull=False, erased_at__isnull=True
    ).update(is_active=True, deletion_requested_at=None)
    if reopened:
        user.is_active, user.deletion_requested_at = True, None
    return bool(reopened)
