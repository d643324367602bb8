from django.contrib import admin

from .models import Like


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "post", "created_at"]
    raw_id_fields = ["user", "post"]
    list_select_related = ["user"]
