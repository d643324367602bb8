from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.users.serializers import PublicProfileSerializer

from .models import KeywordFilter, Mute
from .selectors import RELATIONSHIPS_MAX


class MuteInputSerializer(serializers.Serializer):
    # Bounds here too (the service checks them as well): a huge integer must be a 400, never an overflow.
    duration_seconds = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=366 * 86400
    )
    notifications = serializers.BooleanField(required=False, default=True)


class MuteSerializer(serializers.ModelSerializer):
    account = serializers.SerializerMethodField()

    class Meta:
        model = Mute
        fields = ["account", "notifications", "expires_at"]
        read_only_fields = fields

    @extend_schema_field(PublicProfileSerializer)
    def get_account(self, obj: Mute) -> dict:
        return PublicProfileSerializer(obj.muted, context=self.context).data


class RelationshipSerializer(serializers.Serializer):
    username = serializers.CharField()
    following = serializers.BooleanField()
    followed_by = serializers.BooleanField()
    requested = serializers.BooleanField()
    blocking = serializers.BooleanField()
    blocked_by = serializers.BooleanField()
    muting = serializers.BooleanField()


class RelationshipsQuerySerializer(serializers.Serializer):
    usernames = serializers.CharField(
        max_length=RELATIONSHIPS_MAX * 151, help_text=f"comma-separated, at most {RELATIONSHIPS_MAX}"
    )

    def validate_usernames(self, value: str) -> list[str]:
        # Ordered, without repeats; usernames are unique case-insensitively, so "Bob" and "bob" are one name.
        names = list(dict.fromkeys(n.strip().lower() for n in value.split(",") if n.strip()))
        if not names:
            raise serializers.ValidationError("Name at least one account.")
        if len(names) > RELATIONSHIPS_MAX:
            raise serializers.ValidationError(f"At most {RELATIONSHIPS_MAX} names.")
        # A name that cannot exist is simply unknown (left out), like any other unknown name.
        return [n for n in names if len(n) <= 150]


class KeywordFilterSerializer(serializers.ModelSerializer):
    """Output and input of /filters/. Field checks here; the service re-checks what matters (blank phrase after
    stripping, expiry in the future, at least one context, the per-user cap)."""

    phrase = serializers.CharField(max_length=KeywordFilter.PHRASE_MAX_LENGTH, trim_whitespace=True)
    whole_word = serializers.BooleanField(required=False)
    context = serializers.ListField(
        child=serializers.ChoiceField(choices=KeywordFilter.Context.choices), min_length=1, max_length=4
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    class Meta:
        model = KeywordFilter
        fields = ["id", "phrase", "whole_word", "context", "expires_at"]
        read_only_fields = ["id"]
