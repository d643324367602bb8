from django.urls import path

from . import views

# Included under users/ before the users app ("me/export/" is a fixed path, never a username).
urlpatterns = [
    path("me/export/", views.DataExportView.as_view(), name="user-data-export"),
]
