from rest_framework import serializers

from apps.common.fields import IdField, api_datetime
from apps.images.serializers import post_images_payload
from apps.users.serializers import AuthorSerializer, author_payload, author_payload_from_row

from .models import Post
from .selectors import POST_OBJECT_COLUMNS, post_row_is_public

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
    `liked_by_me`) read with their page extras (`page_extras=True`); a locked post never carries its text or
    images."""

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
        request = self.context.get("request")
        return _payload(_row_of(instance), author=author_payload(instance.author, request=request), request=request)


# What `_payload` reads of a post instance as it is (its columns and page extras, apps.posts.page_extras).
_INSTANCE_KEYS = (*POST_OBJECT_COLUMNS, "ordered_images", "tag_names", "mention_cards")


def _row_of(post: Post) -> dict:
    """A post instance as the row `_payload` reads (a list page's row, posts.selectors' `_page_row_columns`)."""
    row = {name: getattr(post, name) for name in _INSTANCE_KEYS}
    row["is_locked"] = post_is_locked(post)
    row["liked_by_me"] = getattr(post, "liked_by_me", False)
    row["author__is_private"] = post.author.is_private
    return row


def _payload(row: dict, *, author: dict, request) -> dict:
    """The post object of a list page's row or of an instance (`_row_of`): one way, so both show the same object.
    A locked post never carries its text, images, tags or mentions. Plain key reads: a list builds 20-100 of them
    per page."""
    locked = bool(row["is_locked"])
    return {
        "id": row["id"],
        "author": author,
        "text": "" if locked else row["text"],
        "visibility": row["visibility"],
        "images": [] if locked else _images_payload(row, request),
        "tags": [] if locked else row["tag_names"],
        "mentions": [] if locked else row["mention_cards"],
        "likes_count": row["likes_count"],
        "comments_count": row["comments_count"],
        "views_count": row["views_count"],
        "liked_by_me": bool(row["liked_by_me"]),
        "locked": locked,
        "created_at": api_datetime(row["created_at"]),
        "edited_at": api_datetime(row["edited_at"]),
    }


def _images_payload(row: dict, request) -> list:
    """The images of an unlocked post, in order, as loaded with its page (never a per-post query)."""
    public = post_row_is_public(row["visibility"], author_is_private=row["author__is_private"])
    return post_images_payload(row["ordered_images"], public=public, request=request)


def post_row_payload(row: dict, *, request=None) -> dict:
    """The post object (as PostSerializer shows it) of a list page's row: posts.selectors' list sources read plain
    rows with their page extras, no model instances."""
    return _payload(row, author=author_payload_from_row(row, "author", request=request), request=request)


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
