from django.contrib import admin

from apps.common.admin import RoleBasedAdmin

from .models import Comment
from .services import comment_delete


@admin.register(Comment)
class CommentAdmin(RoleBasedAdmin):
    """Comments. apps.moderation.admin registers a subclass with the moderation removal action."""

    # `post_id`/`parent_id`, not the objects: their __str__ would cost a query per row.
    list_display = ["id", "post_id", "parent_id", "author", "short_text", "replies_count", "created_at", "removed_at"]
    list_filter = [("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["text", "author__username"]
    raw_id_fields = ["post", "parent", "author"]
    readonly_fields = ["replies_count", "created_at", "edited_at", "removed_at"]
    list_select_related = ["author"]
    show_full_result_count = False

    @admin.display(description="text")
    def short_text(self, obj: Comment) -> str:
        return obj.text[:80]

    # Deleting from the admin goes through the service like the API, so the counters stay right.
    def delete_model(self, request, obj):
        comment_delete(comment=obj, post=obj.post, actor=request.user)

    def delete_queryset(self, request, queryset):
        for comment in queryset.select_related("post"):
            comment_delete(comment=comment, post=comment.post, actor=request.user)
