"""Building a user's data export: a ZIP of JSON files and the originals of their images (API.md).

It is written row by row and file by file into a temporary file on disk, then handed to the storage, which copies
it in chunks (S3: a multipart upload): nothing holds the whole export in memory, however large the account.
Only the user's own data goes in: for a comment on someone else's post, the comment and the post's id, never the
post's content (which may be private or premium).
"""

import io
import json
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Iterable

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder

from apps.comments.models import Comment
from apps.follows.models import Follow
from apps.images.models import Image
from apps.interactions.models import Like
from apps.posts.models import Post
from apps.safety.models import Block, Mute
from apps.users.models import User

CHUNK = 1000


def _write_json_array(archive: zipfile.ZipFile, name: str, rows: Iterable[dict]) -> None:
    with archive.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as out:
        out.write("[")
        for index, row in enumerate(rows):
            out.write(("," if index else "") + "\n  " + json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False))
        out.write("\n]\n")


def _media_name(image: Image) -> str:
    return f"media/{image.pk}.{image.original_ext}"


def _profile(user: User) -> dict:
    fields = ["id", "username", "email", "email_verified", "pending_email", "first_name", "last_name", "bio"]
    fields += ["role", "premium_until", "date_joined", "last_login", "followers_count", "following_count"]
    return {name: getattr(user, name) for name in fields} | {"avatar_image_id": user.avatar_id}


def _posts(user: User):
    posts = Post.objects.filter(author=user).order_by("id").prefetch_related("images")
    for post in posts.iterator(chunk_size=CHUNK):
        yield {
            "id": post.pk,
            "text": post.text,
            "visibility": post.visibility,
            "created_at": post.created_at,
            "edited_at": post.edited_at,
            "removed_by_moderation": post.removed_at is not None,
            "likes_count": post.likes_count,
            "comments_count": post.comments_count,
            "views_count": post.views_count,
            "images": [
                {"id": image.pk, "alt_text": image.alt_text, "file": _media_name(image) if image.original_ext else None}
                for image in sorted(post.images.all(), key=lambda image: image.position)
            ],
        }


def _comments(user: User):
    rows = Comment.objects.filter(author=user).order_by("id")
    yield from rows.values("id", "post_id", "parent_id", "text", "created_at", "edited_at").iterator(CHUNK)


def _likes(user: User):
    yield from Like.objects.filter(user=user).order_by("id").values("post_id", "created_at").iterator(CHUNK)


def _follows(user: User, *, direction: str):
    if direction == "following":
        rows = Follow.objects.filter(follower=user).values("followee__username", "created_at")
        key = "followee__username"
    else:
        rows = Follow.objects.filter(followee=user).values("follower__username", "created_at")
        key = "follower__username"
    for row in rows.order_by("id").iterator(CHUNK):
        yield {"username": row[key], "since": row["created_at"]}


def _blocks(user: User):
    """Whom the user blocks (never who blocks them: that is the other person's data)."""
    rows = Block.objects.filter(blocker=user).values("blocked__username", "created_at").order_by("id")
    for row in rows.iterator(CHUNK):
        yield {"username": row["blocked__username"], "since": row["created_at"]}


def _mutes(user: User):
    rows = Mute.objects.filter(muter=user).values("muted__username", "notifications", "expires_at", "created_at")
    for row in rows.order_by("id").iterator(CHUNK):
        yield {
            "username": row["muted__username"],
            "notifications": row["notifications"],
            "expires_at": row["expires_at"],
            "since": row["created_at"],
        }


def data_export_write(*, user: User) -> str:
    """Build the ZIP of `user`'s data into the storage; returns its key."""
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            _write_json_array(archive, "profile.json", [_profile(user)])
            _write_json_array(archive, "posts.json", _posts(user))
            _write_json_array(archive, "comments.json", _comments(user))
            _write_json_array(archive, "likes.json", _likes(user))
            _write_json_array(archive, "following.json", _follows(user, direction="following"))
            _write_json_array(archive, "followers.json", _follows(user, direction="followers"))
            _write_json_array(archive, "blocks.json", _blocks(user))
            _write_json_array(archive, "mutes.json", _mutes(user))
            images = Image.objects.filter(owner=user, status=Image.Status.READY).exclude(original_ext="")
            for image in images.order_by("id").iterator(CHUNK):
                try:
                    source = default_storage.open(image.original_key(), "rb")
                except FileNotFoundError:
                    continue  # deleted meanwhile
                with source, archive.open(_media_name(image), "w") as target:
                    shutil.copyfileobj(source, target, length=1024 * 1024)
        spool.seek(0)
        # A random part: export keys must not be guessable, even though the storage is never served directly.
        return default_storage.save(f"exports/{user.pk}/{secrets.token_hex(16)}.zip", File(spool))
