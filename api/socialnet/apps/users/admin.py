from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.common.admin import RoleBasedPermissionsMixin

from .models import User


@admin.register(User)
class UserAdmin(RoleBasedPermissionsMixin, DjangoUserAdmin):
    """Accounts. Roles, suspension and premium are moderation acts with an audit record: apps.moderation.admin
    registers a subclass of this with those actions, and makes `role` editable through its service."""

    list_display = ["username", "email", "role", "premium_until", "is_active", "suspended", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "email"]
    ordering = ["-id"]
    list_select_related = ["suspension"]
    show_full_result_count = False  # COUNT(*) over millions of users on every changelist page is not free
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "email", "bio"]}),
        ("SocialNet", {"fields": ["role", "premium_until"]}),
        ("Status", {"fields": ["is_active", "last_login", "date_joined"]}),
        ("Account lifecycle", {"fields": ["email_verified", "pending_email", "deletion_requested_at", "erased_at"]}),
        ("Counters", {"fields": ["followers_count", "following_count", "posts_count"]}),
    ]
    # is_active is driven by suspension (actions above) and account closing, never ticked by hand: a hand edit
    # would bypass token revocation and the moderation record.
    readonly_fields = [
        "role",
        "is_active",
        "last_login",
        "date_joined",
        "followers_count",
        "following_count",
        "posts_count",
        # Changed only by their flows (verification link, DELETE /users/me/, erasure), which send or undo the rest.
        "email_verified",
        "pending_email",
        "deletion_requested_at",
        "erased_at",
    ]

    @admin.display(boolean=True, description="suspended")
    def suspended(self, obj: User) -> bool:
        return hasattr(obj, "suspension")
