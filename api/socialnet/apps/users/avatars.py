"""Avatars are images, and the images app sits above users in the layers. So images registers at startup
(`ImagesConfig.ready()`) how an image id becomes a user's avatar and how an avatar is shown; users only ask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class AvatarHandler:
    # choose(user, image_id): the image to set as `user`'s avatar (their own, ready, row locked), None for
    # image_id None; raises a ValidationError for anything else.
    choose: Callable[..., object]
    # payload(user, request): the avatar's image object for API responses, None without one. `user.avatar` is
    # expected to be select_related.
    payload: Callable[..., dict | None]
    # The image columns `payload` reads: a list of profiles fetches only these (`.only()`), not the whole row.
    columns: tuple[str, ...]


_handler: AvatarHandler | None = None


def register_avatar_handler(handler: AvatarHandler) -> None:
    global _handler
    _handler = handler


def avatar_handler() -> AvatarHandler:
    if _handler is None:
        raise ImproperlyConfigured("No avatar handler registered: is apps.images in INSTALLED_APPS?")
    return _handler
