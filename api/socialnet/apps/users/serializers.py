from rest_framework import serializers

from apps.common.fields import IdField

from .avatars import avatar_handler
from .models import User


class UserCreateSerializer(serializers.Serializer):
    """Sign-up input. Anything else in the body (role, is_staff, premium_until...) is ignored, never applied.

    Only the shape of `username` here: the rule for new names lives in apps.users.usernames (via user_create)."""

    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        if User.objects.with_email(value).exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value


def author_payload(user: User, *, request=None) -> dict:
    """The small user card embedded in posts, comments, notifications. Built as a plain dict: lists embed one per
    row, and DRF's per-field machinery cost more than the whole card (see AuthorSerializer)."""
    # Avatars are public (profiles are); callers select_related("avatar") so lists stay one query.
    return {"id": user.pk, "username": user.username, "avatar": avatar_handler().payload(user, request=request)}


def author_card_columns(path: str) -> tuple[str, ...]:
    """The columns the card of the user at `path` (e.g. "author") reads: for `.only()` next to
    `select_related(path, f"{path}__avatar")`, or for a `values()` row (`author_payload_from_row`). A whole user
    row is ~25 columns (password hash, a handful of timestamps) that every row of a list would otherwise fetch,
    convert and instantiate for a three-key card."""
    return (
        f"{path}__id",
        f"{path}__username",
        f"{path}__avatar",
        *(f"{path}__avatar__{name}" for name in avatar_handler().columns),
    )


class _CardUser:
    """What `author_payload` (and the avatar handler's payload) read of a user, from a values() row."""

    __slots__ = ("avatar", "avatar_id", "pk", "username")

    def __init__(self, pk, username, avatar_id, avatar):
        self.pk, self.username, self.avatar_id, self.avatar = pk, username, avatar_id, avatar


def author_payload_from_row(row: dict, path: str, *, request=None) -> dict:
    """`author_payload` of the user at `path` in a `values()` row that selected `author_card_columns(path)`: for a
    list that reads plain rows, no User (and no Image unless there is an avatar) to instantiate per row."""
    avatar_id = row[f"{path}__avatar"]
    avatar = None
    if avatar_id is not None:
        # The image model belongs to the images app, above users: reached through the relation, never imported.
        image_model = User._meta.get_field("avatar").related_model
        columns = {"id": avatar_id, **{name: row[f"{path}__avatar__{name}"] for name in avatar_handler().columns}}
        # from_db() takes the values in the model's field order, the others deferred.
        names = [f.attname for f in image_model._meta.concrete_fields if f.attname in columns]
        avatar = image_model.from_db(None, names, [columns[name] for name in names])
    user = _CardUser(row[f"{path}__id"], row[f"{path}__username"], avatar_id, avatar)
    return author_payload(user, request=request)


class AuthorSerializer(serializers.ModelSerializer):
    """The small user card; its fields document the shape (OpenAPI), `author_payload` builds it."""

    avatar = serializers.DictField(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "avatar"]

    def to_representation(self, instance):
        return author_payload(instance, request=self.context.get("request"))


PUBLIC_PROFILE_FIELDS = [
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


# The user columns `public_payload` reads: the fields, but for the id (always loaded), what the selectors annotate
# (`is_following`) and `is_premium`, which `premium_until` makes.
_PUBLIC_PROFILE_COLUMNS = (
    *(name for name in PUBLIC_PROFILE_FIELDS if name not in ("id", "is_premium", "is_following")),
    "premium_until",
)


def public_profile_columns(prefix: str = "") -> tuple[str, ...]:
    """For `.only()` on a list of profiles reached through `prefix` (e.g. "follower__"), avatar selected too: what
    `public_payload` reads, not the ~25 columns of the account row (passwords, dates, e-mail). A column missed here
    would still load on access, one query per row: the lists' query-count tests would tell."""
    avatar = (f"{prefix}avatar__{name}" for name in avatar_handler().columns)
    return (*(f"{prefix}{name}" for name in _PUBLIC_PROFILE_COLUMNS), *avatar)


class PublicProfileSerializer(serializers.ModelSerializer):
    """The public profile; subclasses add fields after these (their Meta.fields start with PUBLIC_PROFILE_FIELDS)."""

    avatar = serializers.DictField(read_only=True, allow_null=True)
    is_premium = serializers.BooleanField(read_only=True)
    is_following = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = PUBLIC_PROFILE_FIELDS
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict:
        """The public fields in one pass (follower lists show 20-100 profiles a page; DRF's per-field work was most
        of the page's serialization), then what a subclass adds, field by field as DRF would."""
        data = self.public_payload(instance)
        for name in self.Meta.fields[len(PUBLIC_PROFILE_FIELDS) :]:
            field = self.fields[name]
            value = field.get_attribute(instance)
            data[name] = None if value is None else field.to_representation(value)
        return data

    def public_payload(self, instance: User) -> dict:
        return {
            "id": instance.pk,
            "username": instance.username,
            "first_name": instance.first_name,
            "last_name": instance.last_name,
            "bio": instance.bio,
            "avatar": avatar_handler().payload(instance, request=self.context.get("request")),
            "followers_count": instance.followers_count,
            "following_count": instance.following_count,
            "posts_count": instance.posts_count,
            "is_premium": instance.is_premium,
            "is_private": instance.is_private,
            # Annotated by the selectors (one query for a whole page); absent means anonymous or not computed.
            "is_following": bool(getattr(instance, "is_following", False)),
        }


class PrivateProfileSerializer(PublicProfileSerializer):
    # Not the model's EmailField: its schema said `format: email`, which the usual "" is not.
    pending_email = serializers.CharField(read_only=True, help_text='an address waiting for verification, or ""')

    class Meta(PublicProfileSerializer.Meta):
        # `pending_email`: an address change waiting for verification ("" when there is none).
        fields = [
            *PublicProfileSerializer.Meta.fields,
            "email",
            "email_verified",
            "pending_email",
            "role",
            "premium_until",
        ]
        read_only_fields = fields

    def to_representation(self, instance) -> dict:
        # Every authenticated client reads this on start-up. DRF builds a ModelSerializer's fields afresh for each
        # instance, from the model's metadata, which was half of GET /users/me/'s CPU (bench/requests.py): the
        # same fields, written out. The declared fields above stay the schema, and a test compares the two.
        premium_until = instance.premium_until
        return {
            **self.public_payload(instance),
            "email": instance.email,
            "email_verified": instance.email_verified,
            "pending_email": instance.pending_email,
            "role": instance.role,
            "premium_until": None if premium_until is None else _DATETIME.to_representation(premium_until),
        }


# Formats datetimes exactly as the declared DateTimeField would (ISO 8601, UTC as "Z").
_DATETIME = serializers.DateTimeField()


class ProfileUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=500, required=False, allow_blank=True)
    avatar_id = IdField(required=False, allow_null=True)
    is_private = serializers.BooleanField(required=False)
    email = serializers.EmailField(max_length=254, required=False)


# Tokens are a few hundred characters; anything much longer is not one of ours and is not worth verifying.
TOKEN_MAX_LENGTH = 512


class EmailVerifySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX_LENGTH)


class EmailVerifiedSerializer(serializers.Serializer):
    email_verified = serializers.BooleanField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX_LENGTH)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
