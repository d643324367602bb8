from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "recipient", "actor", "post", "comment", "read", "created_at"]
    list_filter = ["type", "read"]
    raw_id_fields = ["recipient", "actor", "post", "comment"]
