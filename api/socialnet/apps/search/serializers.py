from rest_framework import serializers

MAX_QUERY_LENGTH = 200


class SearchQuerySerializer(serializers.Serializer):
    # trim_whitespace: a query of spaces only is empty, a 400 like an empty one.
    q = serializers.CharField(min_length=1, max_length=MAX_QUERY_LENGTH, trim_whitespace=True)
    type = serializers.ChoiceField(choices=["accounts", "posts", "tags"], required=False)


class TagResultSerializer(serializers.Serializer):
    name = serializers.CharField()
