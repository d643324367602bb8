from rest_framework import serializers


class LikeStatusSerializer(serializers.Serializer):
    """What POST /posts/{id}/like/ answers: the caller's like and the count right after it."""

    liked = serializers.BooleanField()
    likes_count = serializers.IntegerField()
