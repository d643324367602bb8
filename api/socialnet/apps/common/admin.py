"""Admin access by role (stored on the user), not by Django's per-model permission table.

Moderators see the moderation-relevant models and may act through admin actions; only admins change rows
directly, add or delete them.
"""

from django.contrib import admin


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
