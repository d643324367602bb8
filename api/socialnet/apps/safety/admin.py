from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin

from .models import Block


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    """Blocks are evidence in harassment reports: moderators may look, nobody edits them here (a block is its
    owner's to make or undo). Mutes are private to their owner and deliberately not registered."""

    list_display = ["id", "blocker", "blocked", "created_at"]
    raw_id_fields = ["blocker", "blocked"]
    search_fields = ["blocker__username", "blocked__username"]
    list_select_related = ["blocker", "blocked"]
    show_full_result_count = False
