from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "premium_until", "is_active", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "email"]
    ordering = ["-id"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("SocialNet", {"fields": ["role", "bio", "premium_until"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
