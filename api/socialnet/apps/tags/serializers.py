from rest_framework import serializers


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    posts_count = serializers.IntegerField()
    following = serializers.BooleanField()


class TrendingTagSerializer(serializers.Serializer):
    name = serializers.CharField()
    posts_count = serializers.IntegerField()
    accounts_count = serializers.IntegerField()
