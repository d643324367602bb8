from django.contrib import admin

from apps.common.admin import RoleBasedAdmin

from .models import Post
from .services import post_delete


@admin.register(Post)
class PostAdmin(RoleBasedAdmin):
    """Posts. apps.moderation.admin registers a subclass with the moderation removal action."""

    list_display = [
        "id",
        "author",
        "visibility",
        "likes_count",
        "comments_count",
        "views_count",
        "created_at",
        "removed_at",
    ]
    list_filter = ["visibility", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["text", "author__username"]
    raw_id_fields = ["author"]
    # Counters are maintained by the services and the recount task; editing them by hand would only drift.
    readonly_fields = ["likes_count", "comments_count", "views_count", "created_at", "edited_at", "removed_at"]
    list_select_related = ["author"]
    show_full_result_count = False

    # Deleting from the admin goes through the service like the API: counters, timelines and image files follow.
    def delete_model(self, request, obj):
        post_delete(post=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for post in queryset:
            post_delete(post=post, actor=request.user)
