from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserQuerySet(models.QuerySet):
    def named(self, name: str | models.Expression) -> "UserQuerySet":
        """The account named `name` (a string, or an expression such as a prepared statement's parameter), whatever
        the case. lower() = lower() is the expression of the unique index on names, so this is an index scan;
        `username__iexact` compiles to upper() = upper(), which no index has, and scans every account."""
        if isinstance(name, str):
            name = models.Value(name, output_field=models.CharField())
        return self.alias(username_lower=Lower("username")).filter(username_lower=Lower(name))

    def with_email(self, address: str) -> "UserQuerySet":
        """Accounts whose address is `address`, whatever the case: lower() = lower(), the expression of the unique
        index on addresses, so the rule that keeps addresses unique is the one that finds them, through that index
        (`email__iexact` compiles to upper(), which no index has)."""
        value = models.Value(address, output_field=models.CharField())
        # The index leaves out accounts without an address (`email <> ''`); saying so lets the planner use it.
        return self.alias(email_lower=Lower("email")).filter(email_lower=Lower(value)).exclude(email="")


class SocialNetUserManager(UserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username):
        # Logging in as "Alice" or "alice" is the same account: usernames are unique case-insensitively.
        return self.named(username).get()


class User(AbstractUser):
    """An account. The role, not `is_staff` alone, decides what a user may do beyond their own content."""

    class Role(models.TextChoices):
        USER = "user", "User"
        MODERATOR = "moderator", "Moderator"
        ADMIN = "admin", "Admin"

    email = models.EmailField("email address")
    # Proven by following the emailed link (apps.users.lifecycle); a reset link that reached it proves it too.
    email_verified = models.BooleanField(default=False)
    # An address change waits here until the new address is verified: until then mail still goes to `email`.
    pending_email = models.EmailField(blank=True)
    # Closed by its owner (DELETE /users/me/): inactive at once, erased once the grace period has passed
    # (apps.privacy) unless the owner signs in again before that. `erased_at`: the row is all that is left, so
    # that the username stays taken.
    deletion_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER, db_index=True)
    bio = models.CharField(max_length=500, blank=True)
    # One of the user's own images (chosen through apps.users.avatars, which images serves); deleting it clears this.
    avatar = models.ForeignKey(
        "images.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="avatar_users"
    )
    premium_until = models.DateTimeField(null=True, blank=True)
    # Following needs the owner's approval, and only approved followers (the owner and staff too) see any post.
    # db_default: rows written by code that predates the column (a rolling deploy, raw COPY) still get a value.
    is_private = models.BooleanField(default=False, db_default=False)
    # Denormalised counters, changed with F() in the transaction that creates or deletes the row they count.
    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    posts_count = models.PositiveIntegerField(default=0)
    # Tags followed (apps.tags keeps it, like the counters above): loaded with the user on every request, it lets
    # the home feed skip its followed-tag query for the many who follow none. db_default: see is_private.
    followed_tags_count = models.PositiveIntegerField(default=0, db_default=0)

    objects = SocialNetUserManager()

    class Meta:
        # "Popular accounts" (who-to-follow) reads the top of this index instead of sorting every user.
        indexes = [models.Index(fields=["-followers_count", "id"], name="users_user_popular")]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="users_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="users_user_email_ci_unique"),
        ]

    @property
    def is_premium(self) -> bool:
        return self.premium_until is not None and self.premium_until > timezone.now()

    @property
    def is_moderator(self) -> bool:
        """Moderators and admins may remove any content and resolve reports."""
        return self.is_active and (self.role in (self.Role.MODERATOR, self.Role.ADMIN) or self.is_superuser)

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.role == self.Role.ADMIN or self.is_superuser)
