from rest_framework import serializers

from apps.posts.serializers import PostSerializer


class RecommendedPostSerializer(PostSerializer):
    """A post plus why it is recommended: liked_by_following, commented_by_following, author_you_interact_with
    or trending."""

    reason = serializers.CharField(read_only=True)

    class Meta(PostSerializer.Meta):
        fields = [*PostSerializer.Meta.fields, "reason"]
        read_only_fields = fields

    def to_representation(self, instance) -> dict:
        return {**super().to_representation(instance), "reason": instance.reason}
