from django.urls import path

from . import views

urlpatterns = [
    path("reports/", views.ReportCreateView.as_view(), name="report-create"),
    path("moderation/reports/", views.ModerationReportListView.as_view(), name="moderation-report-list"),
    path(
        "moderation/reports/<int:report_id>/resolve/",
        views.ModerationReportResolveView.as_view(),
        name="moderation-report-resolve",
    ),
]
