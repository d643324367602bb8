"""Admin access by role (stored on the user), not by Django's per-model permission table.

Moderators see the moderation-relevant models and may act through admin actions; only admins change rows
directly, add or delete them.
"""

from django.contrib import admin
from django.utils import timezone

from .models import OutboxEvent


class RoleBasedPermissionsMixin:
    moderator_can_change = False  # set on models moderators edit directly (reports)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_moderator

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_moderator

    def has_change_permission(self, request, obj=None):
        return request.user.is_admin or (self.moderator_can_change and request.user.is_moderator)

    def has_add_permission(self, request):
        return request.user.is_admin

    def has_delete_permission(self, request, obj=None):
        return request.user.is_admin


class RoleBasedAdmin(RoleBasedPermissionsMixin, admin.ModelAdmin):
    pass


class ReadOnlyAdmin(RoleBasedAdmin):
    """For append-only records such as the moderation log."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """The outbox, for admins: what waits for a task, and the dead rows (`relay after` empty) to look into."""

    list_display = ("id", "task", "args", "created_at", "relay_after", "relays")
    list_filter = (("relay_after", admin.EmptyFieldListFilter), "task")
    ordering = ("id",)
    readonly_fields = ("task", "args", "created_at", "relay_after", "relays")
    actions = ("relay_again",)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_admin

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_admin

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_admin

    def has_add_permission(self, request):
        return False  # rows come from enqueue() only

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Relay again (once the cause is fixed)", permissions=["delete"])
    def relay_again(self, request, queryset):
        count = queryset.update(relay_after=timezone.now(), relays=0)
        self.message_user(request, f"{count} event(s) will be published by the next sweep.")
