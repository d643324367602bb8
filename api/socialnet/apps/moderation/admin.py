from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from apps.common.admin import ReadOnlyAdmin, RoleBasedAdmin

from . import services
from .models import ModerationAction, Report, Suspension, TargetType

TARGET_ADMIN_URLS = {
    TargetType.POST: "admin:posts_post_change",
    TargetType.COMMENT: "admin:comments_comment_change",
    TargetType.USER: "admin:users_user_change",
}


def _resolve_selected(modeladmin, request, queryset, action: str, done: str):
    resolved = skipped = 0
    for report in queryset.filter(is_open=True):
        try:
            services.report_resolve(report=report, moderator=request.user, action=action, note="via admin")
            resolved += 1
        except Exception as exc:  # one bad row must not abort the batch; tell the moderator which one
            skipped += 1
            modeladmin.message_user(request, f"Report {report.pk}: {exc}", messages.WARNING)
    modeladmin.message_user(request, f"{resolved} report(s) {done}.", messages.SUCCESS)


@admin.action(description="Dismiss selected reports")
def dismiss_reports(modeladmin, request, queryset):
    _resolve_selected(modeladmin, request, queryset, Report.Resolution.DISMISS, "dismissed")


@admin.action(description="Remove reported content")
def remove_reported_content(modeladmin, request, queryset):
    _resolve_selected(modeladmin, request, queryset, Report.Resolution.REMOVE_CONTENT, "resolved, content removed")


@admin.action(description="Suspend reported users / authors")
def suspend_reported_users(modeladmin, request, queryset):
    _resolve_selected(modeladmin, request, queryset, Report.Resolution.SUSPEND_USER, "resolved, user suspended")


@admin.register(Report)
class ReportAdmin(RoleBasedAdmin):
    moderator_can_change = True
    list_display = ["id", "target", "reason", "reporter", "status", "resolution", "created_at"]
    list_filter = ["is_open", "reason", "target_type", "resolution"]
    search_fields = ["reporter__username", "note"]
    list_select_related = ["reporter", "resolved_by"]
    raw_id_fields = ["reporter", "resolved_by"]
    readonly_fields = [
        "reporter",
        "target_type",
        "target_id",
        "target",
        "reason",
        "note",
        "status",
        "is_open",
        "resolution",
        "resolved_by",
        "resolved_at",
        "created_at",
    ]
    ordering = ["-is_open", "-id"]
    actions = [remove_reported_content, dismiss_reports, suspend_reported_users]
    show_full_result_count = False

    @admin.display(description="target")
    def target(self, obj: Report):
        url = reverse(TARGET_ADMIN_URLS[obj.target_type], args=[obj.target_id])
        return format_html('<a href="{}">{} #{}</a>', url, obj.get_target_type_display(), obj.target_id)


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_id", "report", "reason"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor__username", "reason"]
    list_select_related = ["actor", "report"]
    show_full_result_count = False


@admin.register(Suspension)
class SuspensionAdmin(ReadOnlyAdmin):
    list_display = ["user", "suspended_by", "reason", "created_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "suspended_by"]
