"""The tokens carried by emailed links: signed, expiring and single-use, made with Django's own machinery.

- Email verification: `django.core.signing` (timestamped, salted) over the user id and a fingerprint of the address
  being verified. It is single-use because it only matches while that address is still waiting for verification;
  the fingerprint keeps the address itself out of URLs (and so out of access logs).
- Password reset: Django's `PasswordResetTokenGenerator`, whose hash covers the password hash, the last login and
  the email: any password change (the reset itself included) or login voids it, PASSWORD_RESET_TIMEOUT bounds its
  age. The user id travels with it as `<uidb64>.<token>` so that one `token` parameter is all a link needs.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from apps.common.fields import MAX_ID

from .models import User

VERIFICATION_SALT = "apps.users.email-verification"


def _address_fingerprint(address: str) -> str:
    return salted_hmac(VERIFICATION_SALT, address.strip().lower()).hexdigest()[:32]


def _verification_signer() -> signing.TimestampSigner:
    # "." instead of the default ":" keeps the token URL-safe: copied out of a link it is already the raw token.
    return signing.TimestampSigner(salt=VERIFICATION_SALT, sep=".")


def email_verification_token_make(*, user: User, address: str) -> str:
    return _verification_signer().sign_object({"u": user.pk, "a": _address_fingerprint(address)})


def email_verification_token_read(token: str) -> tuple[int, str] | None:
    """(user id, address fingerprint); None when malformed, tampered with or older than EMAIL_VERIFICATION_TIMEOUT."""
    try:
        data = _verification_signer().unsign_object(token, max_age=settings.EMAIL_VERIFICATION_TIMEOUT)
    except (signing.BadSignature, ValueError, UnicodeError):
        return None
    if not isinstance(data, dict) or type(data.get("u")) is not int or not isinstance(data.get("a"), str):
        return None
    return data["u"], data["a"]


def email_verification_token_matches(fingerprint: str, address: str) -> bool:
    return bool(address) and constant_time_compare(fingerprint, _address_fingerprint(address))


def password_reset_token_make(*, user: User) -> str:
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"


def password_reset_token_user(token: str, *, lock: bool = False) -> User | None:
    """The active user this reset token is valid for right now, or None (malformed, expired, used, voided).

    `lock` (inside a transaction) locks the user's row before checking, so two confirms cannot both pass."""
    uidb64, _, secret = token.partition(".")
    try:
        user_id = int(urlsafe_base64_decode(uidb64).decode("ascii"))
    except (ValueError, UnicodeError):
        return None
    if not 0 < user_id <= MAX_ID:
        return None
    users = User.objects.select_for_update() if lock else User.objects
    user = users.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, secret):
        return None
    return user
