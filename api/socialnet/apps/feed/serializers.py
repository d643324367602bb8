from rest_framework import serializers

from apps.posts.serializers import PostSerializer, post_row_payload


class RecommendedPostSerializer(PostSerializer):
    """A post plus why it is recommended: liked_by_following, commented_by_following, author_you_interact_with
    or trending."""

    reason = serializers.CharField(read_only=True)

    class Meta(PostSerializer.Meta):
        fields = [*PostSerializer.Meta.fields, "reason"]
        read_only_fields = fields

    # The shape, for the OpenAPI schema; `recommended_rows_payload` builds the objects.


def recommended_rows_payload(rows: list[dict], *, request=None) -> list[dict]:
    """A recommended page's rows (selectors.recommended_page: a list page's rows with their `reason`)."""
    return [{**post_row_payload(row, request=request), "reason": row["reason"]} for row in rows]
