from django.urls import path

from . import views

# Fixed paths first: "me", "create" and "suggestions" are reserved usernames for this reason.
urlpatterns = [
    path("create/", views.UserCreateView.as_view(), name="user-create"),
    path("me/", views.MeView.as_view(), name="user-me"),
    path("<str:username>/", views.PublicProfileView.as_view(), name="user-detail"),
]
