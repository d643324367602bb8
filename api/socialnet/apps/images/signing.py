"""Signed, expiring media URLs: an HMAC of the file key and an expiry time, checked by the media view.

Public images get plain URLs (cacheable by anyone). Every other file is reachable only through a URL minted for a
viewer who could see it when the payload was built, and only until it expires.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "apps.images.media-url"


def _signature(key: str, expires: int) -> str:
    return salted_hmac(_SALT, f"{key}\n{expires}", algorithm="sha256").hexdigest()


def media_path(key: str) -> str:
    return f"{settings.MEDIA_URL}{key}"


def sign_media_path(key: str, *, now: float | None = None, ttl: int | None = None) -> str:
    """`/media/<key>?exp=...&sig=...`. The expiry is rounded up to a minute so a page built twice within the same
    minute hands out the same URL (the browser's cache keeps working)."""
    ttl = settings.MEDIA_URL_TTL_SECONDS if ttl is None else ttl
    now = time.time() if now is None else now
    expires = int(now + ttl + 59) // 60 * 60
    return f"{media_path(key)}?exp={expires}&sig={_signature(key, expires)}"


def verify_media_signature(key: str, expires: str | None, signature: str | None, *, now: float | None = None) -> bool:
    # isascii(): str.isdigit() accepts digits like '²' that int() refuses.
    if not expires or not signature or not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return constant_time_compare(signature, _signature(key, int(expires)))
