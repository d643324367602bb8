from collections.abc import Callable
from functools import partial
from typing import Any

from rest_framework import serializers

from apps.common.fields import IdField, api_datetime
from apps.images.serializers import post_images_payload
from apps.users.serializers import AuthorSerializer, author_payload, author_payload_from_row

from .models import Post
from .selectors import post_is_public, post_page_extras, post_row_is_public

MAX_IMAGES_PER_POST = 10


class MentionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


def post_is_locked(post: Post) -> bool:
    """Locked as annotated by posts.selectors. A post that did not come from there is treated as locked when it
    is premium: failing closed means a forgotten annotation hides content instead of leaking it."""
    locked = getattr(post, "is_locked", None)
    if locked is None:
        return post.visibility == Post.Visibility.PREMIUM
    return bool(locked)


class PostSerializer(serializers.ModelSerializer):
    """The post object of API.md. Expects posts from `post_visible_queryset` (annotations `is_locked`,
    `liked_by_me`); a locked post never carries its text or images."""

    # The shape, for the OpenAPI schema; `to_representation` builds the object.
    author = AuthorSerializer(read_only=True)
    text = serializers.CharField(read_only=True)
    images = serializers.ListField(child=serializers.DictField(), read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    mentions = MentionSerializer(many=True, read_only=True)
    liked_by_me = serializers.BooleanField(read_only=True)
    locked = serializers.BooleanField(read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "author",
            "text",
            "visibility",
            "images",
            "tags",
            "mentions",
            "likes_count",
            "comments_count",
            "views_count",
            "liked_by_me",
            "locked",
            "created_at",
            "edited_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Post) -> dict:
        """The whole object in one pass. Lists serialize 20-100 posts per page and DRF's per-field work (a bound
        field, `get_attribute`, a method call each) cost about as much as everything else the page does."""
        obj = post_page_extras(instance)
        locked = post_is_locked(obj)
        request = self.context.get("request")
        images = [] if locked else post_images_payload(obj.ordered_images, public=post_is_public(obj), request=request)
        author = author_payload(obj.author, request=request)
        liked = bool(getattr(obj, "liked_by_me", False))
        return _payload(partial(getattr, obj), author=author, locked=locked, liked=liked, images=images)


def _payload(column: Callable[[str], Any], *, author: dict, locked: bool, liked: bool, images: list) -> dict:
    """The post object; `column(name)` reads a column (or page extra) of the post, of an instance or of a list
    page's row, so both ways show the same object. A locked post never carries its text, images, tags or mentions."""
    return {
        "id": column("id"),
        "author": author,
        "text": "" if locked else column("text"),
        "visibility": column("visibility"),
        "images": images,
        "tags": [] if locked else column("tag_names"),
        "mentions": [] if locked else column("mention_cards"),
        "likes_count": column("likes_count"),
        "comments_count": column("comments_count"),
        "views_count": column("views_count"),
        "liked_by_me": liked,
        "locked": locked,
        "created_at": api_datetime(column("created_at")),
        "edited_at": api_datetime(column("edited_at")),
    }


def post_row_payload(row: dict, *, request=None) -> dict:
    """The post object (as PostSerializer shows it) of a list page's row: posts.selectors' list sources read plain
    rows with their page extras, no model instances."""
    locked = bool(row["is_locked"])
    images = []
    if not locked:
        public = post_row_is_public(row["visibility"], author_is_private=row["author__is_private"])
        images = post_images_payload(row["ordered_images"], public=public, request=request)
    author = author_payload_from_row(row, "author", request=request)
    return _payload(row.__getitem__, author=author, locked=locked, liked=bool(row["liked_by_me"]), images=images)


def post_rows_payload(rows: list[dict], *, request=None) -> list[dict]:
    """A list page's rows (`post_list_source`, the feeds' `post_feed_source`) as post objects."""
    return [post_row_payload(row, request=request) for row in rows]


class PostCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=Post.TEXT_MAX_LENGTH, allow_blank=True, required=False, default="")
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices, default=Post.Visibility.PUBLIC)
    image_ids = serializers.ListField(
        child=IdField(),
        max_length=MAX_IMAGES_PER_POST,
        required=False,
        default=list,
    )

    def validate_image_ids(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("The same image is listed twice.")
        return value

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("text") and not attrs.get("image_ids"):
            raise serializers.ValidationError({"text": ["A post needs text or at least one image."]})
        return attrs


class PostUpdateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=Post.TEXT_MAX_LENGTH, allow_blank=True, required=False)
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices, required=False)

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError("Send `text` and/or `visibility`.")
        return attrs


class PostListQuerySerializer(serializers.Serializer):
    # Validated, not passed through raw: a NUL byte in a query string would otherwise reach PostgreSQL as a 500.
    author = serializers.CharField(max_length=150, required=False)
