from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.common.fields import IdField
from apps.posts.serializers import post_is_locked
from apps.users.serializers import AuthorSerializer

from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    """A notification; the post and comment are small cards. A post locked for the recipient shows no text,
    and neither does a comment under it."""

    actor = AuthorSerializer(read_only=True)
    post = serializers.SerializerMethodField()
    comment = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "type", "actor", "post", "comment", "created_at", "read"]
        read_only_fields = fields

    def _locked(self, obj: Notification) -> bool:
        post = obj.post
        # Not in the recipient's visible set (prefetch gave None): say nothing about it.
        return post is None or post_is_locked(post)

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_post(self, obj: Notification):
        if obj.post_id is None or obj.post is None:
            return None
        locked = self._locked(obj)
        return {"id": obj.post_id, "text": "" if locked else obj.post.text, "locked": locked}

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_comment(self, obj: Notification):
        if obj.comment_id is None:
            return None
        return {"id": obj.comment_id, "text": "" if self._locked(obj) else obj.comment.text}


class MarkReadSerializer(serializers.Serializer):
    up_to_id = IdField(required=False, allow_null=True)
