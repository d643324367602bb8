from django.contrib import admin

from .models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
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
    list_filter = ["visibility", "removed_at"]
    search_fields = ["text", "author__username"]
    raw_id_fields = ["author"]
    # Counters are maintained by the services and the recount task; editing them by hand would only drift.
    readonly_fields = ["likes_count", "comments_count", "views_count", "created_at", "edited_at"]
    list_select_related = ["author"]
