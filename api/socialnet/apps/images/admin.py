from django.contrib import admin

from .models import Image


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "status", "source_format", "width", "height", "post", "created_at"]
    list_filter = ["status", "source_format"]
    search_fields = ["owner__username", "alt_text"]
    raw_id_fields = ["owner", "post"]
    readonly_fields = [
        "storage_prefix",
        "source_format",
        "source_bytes",
        "original_ext",
        "width",
        "height",
        "blurhash",
        "failure_reason",
        "attempts",
        "processed_at",
    ]

    def has_delete_permission(self, request, obj=None):
        # Deleting here would skip image_delete and leave the files behind.
        return False
