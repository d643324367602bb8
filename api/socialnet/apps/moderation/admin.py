from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from apps.comments.admin import CommentAdmin
from apps.comments.models import Comment
from apps.common.admin import ReadOnlyAdmin, RoleBasedAdmin
from apps.posts.admin import PostAdmin
from apps.posts.models import Post
from apps.users.admin import UserAdmin
from apps.users.models import User

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


# --- Moderation acts on the lower apps' admin pages -------------------------------------------------------------
# Users, posts and comments register their plain admin; the acts with an audit record (suspension, premium, role
# change, removal) are added here, where the moderation services live, by registering a subclass in their place.


def _each(modeladmin, request, queryset, operation, done: str) -> None:
    count = 0
    for obj in queryset:
        try:
            operation(obj)
            count += 1
        except Exception as exc:  # e.g. a moderator trying to suspend an admin: report it, continue the batch
            modeladmin.message_user(request, f"{obj}: {exc}", messages.WARNING)
    modeladmin.message_user(request, f"{count} {done}.", messages.SUCCESS)


@admin.action(description="Grant 30 days of premium")
def grant_premium_30_days(modeladmin, request, queryset):
    _each(
        modeladmin, request, queryset, lambda u: services.premium_grant(user=u, actor=request.user), "user(s) granted"
    )


@admin.action(description="Suspend selected users")
def suspend_users(modeladmin, request, queryset):
    _each(
        modeladmin, request, queryset, lambda u: services.user_suspend(user=u, actor=request.user), "user(s) suspended"
    )


@admin.action(description="Lift suspension of selected users")
def unsuspend_users(modeladmin, request, queryset):
    _each(
        modeladmin, request, queryset, lambda u: services.user_unsuspend(user=u, actor=request.user), "user(s) restored"
    )


@admin.action(description="Remove selected posts (moderation)")
def remove_posts(modeladmin, request, queryset):
    def remove(post):
        services.content_remove_post(post=post, actor=request.user, reason="via admin")

    _each(modeladmin, request, queryset.filter(removed_at__isnull=True), remove, "post(s) removed")


@admin.action(description="Remove selected comments (moderation)")
def remove_comments(modeladmin, request, queryset):
    def remove(comment):
        services.content_remove_comment(comment=comment, actor=request.user, reason="via admin")

    _each(modeladmin, request, queryset.filter(removed_at__isnull=True), remove, "comment(s) removed")


admin.site.unregister(User)


@admin.register(User)
class ModeratedUserAdmin(UserAdmin):
    actions = [suspend_users, unsuspend_users, grant_premium_30_days]
    # The role becomes editable here: the change goes through the service (staff flags in step, audit record).
    readonly_fields = [field for field in UserAdmin.readonly_fields if field != "role"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_admin:  # premium is granted by admins only
            actions.pop("grant_premium_30_days", None)
        return actions

    def save_model(self, request, obj, form, change):
        new_role = obj.role
        if change and "role" in form.changed_data:
            obj.role = form.initial.get("role", obj.role)
            super().save_model(request, obj, form, change)
            services.role_change(user=obj, actor=request.user, role=new_role)
        else:
            super().save_model(request, obj, form, change)
            if not change and new_role != User.Role.USER:
                services.role_change(user=obj, actor=request.user, role=new_role)


admin.site.unregister(Post)


@admin.register(Post)
class ModeratedPostAdmin(PostAdmin):
    actions = [remove_posts]


admin.site.unregister(Comment)


@admin.register(Comment)
class ModeratedCommentAdmin(CommentAdmin):
    actions = [remove_comments]
