from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.common.fields import IdField
from apps.images.serializers import post_images_payload
from apps.users.serializers import AuthorSerializer

from .models import Post
from .selectors import post_is_public

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

    author = AuthorSerializer(read_only=True)
    text = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    mentions = serializers.SerializerMethodField()
    liked_by_me = serializers.SerializerMethodField()
    locked = serializers.SerializerMethodField()

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

    def get_text(self, obj: Post) -> str:
        return "" if post_is_locked(obj) else obj.text

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_images(self, obj: Post) -> list:
        if post_is_locked(obj):
            return []
        return self.images_payload(obj)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, obj: Post) -> list:
        """Names as first written, in the order the text has them; from the selector's prefetch."""
        if post_is_locked(obj):
            return []
        return [row.tag.name for row in obj.post_tags.all()]

    @extend_schema_field(MentionSerializer(many=True))
    def get_mentions(self, obj: Post) -> list:
        if post_is_locked(obj):
            return []
        return [
            {"id": row.user_id, "username": row.user.username} for row in obj.post_mentions.all() if row.user.is_active
        ]

    def images_payload(self, obj: Post) -> list:
        """The post's image objects, in order, from the selector's prefetch (never a per-post query).
        Only called for posts that are not locked."""
        return post_images_payload(obj, public=post_is_public(obj), request=self.context.get("request"))

    def get_liked_by_me(self, obj: Post) -> bool:
        return bool(getattr(obj, "liked_by_me", False))

    def get_locked(self, obj: Post) -> bool:
        return post_is_locked(obj)


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
