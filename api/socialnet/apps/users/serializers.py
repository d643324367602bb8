from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from .avatars import avatar_handler
from .models import User

# Paths under /users/ that a username must never shadow.
RESERVED_USERNAMES = frozenset(
    {"me", "create", "suggestions", "relationships", "admin", "root", "api", "support", "moderation"}
)


class UserCreateSerializer(serializers.Serializer):
    """Sign-up input. Anything else in the body (role, is_staff, premium_until...) is ignored, never applied."""

    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_username(self, value: str) -> str:
        if value.lower() in RESERVED_USERNAMES:
            raise serializers.ValidationError("This username is reserved.")
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def validate_email(self, value: str) -> str:
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value


class AuthorSerializer(serializers.ModelSerializer):
    """The small user card embedded in posts, comments, notifications."""

    avatar = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "avatar"]

    def get_avatar(self, obj) -> dict | None:
        # Avatars are public (profiles are); callers select_related("avatar") so lists stay one query.
        return avatar_handler().payload(obj, request=self.context.get("request"))


class PublicProfileSerializer(serializers.ModelSerializer):
    avatar = serializers.SerializerMethodField()
    is_premium = serializers.BooleanField(read_only=True)
    is_following = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "bio",
            "avatar",
            "followers_count",
            "following_count",
            "posts_count",
            "is_premium",
            "is_private",
            "is_following",
        ]
        read_only_fields = fields

    def get_avatar(self, obj) -> dict | None:
        return avatar_handler().payload(obj, request=self.context.get("request"))

    def get_is_following(self, obj) -> bool:
        # Annotated by the selectors (one query for a whole page); absent means anonymous or not computed.
        return bool(getattr(obj, "is_following", False))


class PrivateProfileSerializer(PublicProfileSerializer):
    class Meta(PublicProfileSerializer.Meta):
        fields = [*PublicProfileSerializer.Meta.fields, "email", "role", "premium_until"]
        read_only_fields = fields


class ProfileUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=500, required=False, allow_blank=True)
    avatar_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    is_private = serializers.BooleanField(required=False)
