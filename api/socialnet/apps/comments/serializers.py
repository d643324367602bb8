from rest_framework import serializers

from apps.common.fields import IdField, api_datetime
from apps.users.serializers import AuthorSerializer, author_payload

from .models import Comment


class CommentSerializer(serializers.ModelSerializer):
    """`{id, post, parent, author, text, replies_count, created_at, edited_at}`: post and parent as ids."""

    author = AuthorSerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "post", "parent", "author", "text", "replies_count", "created_at", "edited_at"]
        read_only_fields = fields

    def to_representation(self, instance: Comment) -> dict:
        # Built in one pass: per-field DRF work was most of a 20-comment page's serialization (like posts').
        return {
            "id": instance.pk,
            "post": instance.post_id,
            "parent": instance.parent_id,
            "author": author_payload(instance.author, request=self.context.get("request")),
            "text": instance.text,
            "replies_count": instance.replies_count,
            "created_at": api_datetime(instance.created_at),
            "edited_at": api_datetime(instance.edited_at),
        }


class CommentCreateSerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=Comment.TEXT_MAX_LENGTH)
    # The id only: the view resolves it among the visible comments of the same post (anything else is a 400).
    parent = IdField(required=False, allow_null=True)


class CommentUpdateSerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=Comment.TEXT_MAX_LENGTH)


class CommentListQuerySerializer(serializers.Serializer):
    parent = IdField(required=False)
