from collections.abc import Callable
from functools import partial
from typing import Any

from rest_framework import serializers

from apps.common.fields import IdField, api_datetime
from apps.users.serializers import AuthorSerializer, author_payload, author_payload_from_row

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
        author = author_payload(instance.author, request=self.context.get("request"))
        return _payload(partial(getattr, instance), author)


def _payload(column: Callable[[str], Any], author: dict) -> dict:
    """The comment object; `column(attname)` reads a column of the comment (of an instance, or of a thread's
    values() row), so both ways show the same object."""
    return {
        "id": column("id"),
        "post": column("post_id"),
        "parent": column("parent_id"),
        "author": author,
        "text": column("text"),
        "replies_count": column("replies_count"),
        "created_at": api_datetime(column("created_at")),
        "edited_at": api_datetime(column("edited_at")),
    }


def thread_payload(rows: list[dict], *, request=None) -> list[dict]:
    """A thread page (selectors.comment_thread_source: values() rows) as comment objects, as CommentSerializer
    shows each comment."""
    return [_payload(row.__getitem__, author_payload_from_row(row, "author", request=request)) for row in rows]


class CommentCreateSerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=Comment.TEXT_MAX_LENGTH)
    # The id only: the view resolves it among the visible comments of the same post (anything else is a 400).
    parent = IdField(required=False, allow_null=True)


class CommentUpdateSerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=Comment.TEXT_MAX_LENGTH)


class CommentListQuerySerializer(serializers.Serializer):
    parent = IdField(required=False)
