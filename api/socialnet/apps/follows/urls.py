from django.urls import path

from . import views

# Included under users/ before the users app: "suggestions/" must win over "<username>/".
urlpatterns = [
    path("suggestions/", views.SuggestionsView.as_view(), name="user-suggestions"),
    path("me/follow-requests/", views.FollowRequestsView.as_view(), name="user-follow-requests"),
    path(
        "me/follow-requests/<str:username>/accept/",
        views.FollowRequestAcceptView.as_view(),
        name="user-follow-request-accept",
    ),
    path(
        "me/follow-requests/<str:username>/reject/",
        views.FollowRequestRejectView.as_view(),
        name="user-follow-request-reject",
    ),
    path("me/followers/<str:username>/", views.RemoveFollowerView.as_view(), name="user-remove-follower"),
    path("<str:username>/follow/", views.FollowView.as_view(), name="user-follow"),
    path("<str:username>/followers/", views.FollowersView.as_view(), name="user-followers"),
    path("<str:username>/following/", views.FollowingView.as_view(), name="user-following"),
]
