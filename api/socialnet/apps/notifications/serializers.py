from rest_framework import serializers

from apps.common.fields import IdField, api_datetime
from apps.users.serializers import AuthorSerializer, author_payload

from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    """A notification; the post and comment are small cards. A post locked for the recipient shows no text,
    and neither does a comment under it. Expects rows from `selectors.notification_list_source`:
    the actor joined, `post_text`, `comment_text` and `post_locked` annotated."""

    # The shape, for the OpenAPI schema; `to_representation` builds the object.
    actor = AuthorSerializer(read_only=True)
    post = serializers.DictField(read_only=True, allow_null=True)
    comment = serializers.DictField(read_only=True, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "type", "actor", "post", "comment", "created_at", "read"]
        read_only_fields = fields

    def to_representation(self, instance: Notification) -> dict:
        """The whole object in one pass (DRF's per-field work cost more than the rest of the page)."""
        # Locked unless the row says otherwise: no post (a comment without one) or no annotation shows no text.
        locked = instance.post_id is None or getattr(instance, "post_locked", None) is not False
        post = None
        if instance.post_id is not None:
            post = {"id": instance.post_id, "text": "" if locked else instance.post_text, "locked": locked}
        comment = None
        if instance.comment_id is not None:
            comment = {"id": instance.comment_id, "text": "" if locked else instance.comment_text}
        return {
            "id": instance.pk,
            "type": instance.type,
            "actor": author_payload(instance.actor, request=self.context.get("request")),
            "post": post,
            "comment": comment,
            "created_at": api_datetime(instance.created_at),
            "read": instance.read,
        }


class MarkReadSerializer(serializers.Serializer):
    up_to_id = IdField(required=False, allow_null=True)
