from rest_framework import serializers

from apps.common.fields import IdField, api_datetime
from apps.images.serializers import post_images_payload
from apps.users.serializers import AuthorSerializer, author_payload

from .models import Post
from .selectors import post_is_public, post_page_extras

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
        return {
            "id": obj.pk,
            "author": author_payload(obj.author, request=request),
            "text": "" if locked else obj.text,
            "visibility": obj.visibility,
            "images": [] if locked else self.images_payload(obj),
            "tags": [] if locked else obj.tag_names,
            "mentions": [] if locked else obj.mention_cards,
            "likes_count": obj.likes_count,
            "comments_count": obj.comments_count,
            "views_count": obj.views_count,
            "liked_by_me": bool(getattr(obj, "liked_by_me", False)),
            "locked": locked,
            "created_at": api_datetime(obj.created_at),
            "edited_at": api_datetime(obj.edited_at),
        }

    def images_payload(self, obj: Post) -> list:
        """The post's image objects, in order, as loaded with its page (never a per-post query).
        Only called for posts that are not locked."""
        return post_images_payload(obj.ordered_images, public=post_is_public(obj), request=self.context.get("request"))


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
