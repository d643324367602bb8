from django.urls import path

from . import views

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="notification-list"),
    path("unread_count/", views.UnreadCountView.as_view(), name="notification-unread-count"),
    path("read/", views.MarkReadView.as_view(), name="notification-read"),
]
