from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.common.admin import RoleBasedPermissionsMixin
from apps.moderation import services as moderation

from .models import User


def _each(modeladmin, request, queryset, operation, done: str):
    count = 0
    for user in queryset:
        try:
            operation(user)
            count += 1
        except Exception as exc:  # e.g. a moderator trying to suspend an admin: report it, continue the batch
            modeladmin.message_user(request, f"{user.username}: {exc}", messages.WARNING)
    modeladmin.message_user(request, f"{count} user(s) {done}.", messages.SUCCESS)


@admin.action(description="Grant 30 days of premium")
def grant_premium_30_days(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, lambda u: moderation.premium_grant(user=u, actor=request.user), "granted")


@admin.action(description="Suspend selected users")
def suspend_users(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, lambda u: moderation.user_suspend(user=u, actor=request.user), "suspended")


@admin.action(description="Lift suspension of selected users")
def unsuspend_users(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, lambda u: moderation.user_unsuspend(user=u, actor=request.user), "restored")


@admin.register(User)
class UserAdmin(RoleBasedPermissionsMixin, DjangoUserAdmin):
    list_display = ["username", "email", "role", "premium_until", "is_active", "suspended", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "email"]
    ordering = ["-id"]
    list_select_related = ["suspension"]
    show_full_result_count = False  # COUNT(*) over millions of users on every changelist page is not free
    actions = [suspend_users, unsuspend_users, grant_premium_30_days]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "email", "bio"]}),
        ("SocialNet", {"fields": ["role", "premium_until"]}),
        ("Status", {"fields": ["is_active", "last_login", "date_joined"]}),
        ("Counters", {"fields": ["followers_count", "following_count", "posts_count"]}),
    ]
    # is_active is driven by suspension (actions above) and account closing, never ticked by hand: a hand edit
    # would bypass token revocation and the moderation record.
    readonly_fields = [
        "is_active",
        "last_login",
        "date_joined",
        "followers_count",
        "following_count",
        "posts_count",
    ]

    @admin.display(boolean=True, description="suspended")
    def suspended(self, obj: User) -> bool:
        return hasattr(obj, "suspension")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_admin:  # premium is granted by admins only
            actions.pop("grant_premium_30_days", None)
        return actions

    def save_model(self, request, obj, form, change):
        # Role changes go through the service: it keeps is_staff/is_superuser in step and records who did it.
        new_role = obj.role
        if change and "role" in form.changed_data:
            obj.role = form.initial.get("role", obj.role)
            super().save_model(request, obj, form, change)
            moderation.role_change(user=obj, actor=request.user, role=new_role)
        else:
            super().save_model(request, obj, form, change)
            if not change and new_role != User.Role.USER:
                moderation.role_change(user=obj, actor=request.user, role=new_role)
