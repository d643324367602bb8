from django.contrib import admin

from .models import Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "created_at"]
    search_fields = ["key"]
    readonly_fields = ["name", "key", "created_at"]
