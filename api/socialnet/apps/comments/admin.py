from django.contrib import admin

from .models import Comment


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "post", "parent", "author", "replies_count", "created_at", "removed_at"]
    list_filter = ["removed_at"]
    search_fields = ["text", "author__username"]
    raw_id_fields = ["post", "parent", "author"]
    readonly_fields = ["replies_count", "created_at", "edited_at"]
    list_select_related = ["author"]
