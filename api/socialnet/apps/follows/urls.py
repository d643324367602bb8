from django.urls import path

from . import views

# Included under users/ before the users app: "suggestions/" must win over "<username>/".
urlpatterns = [
    path("suggestions/", views.SuggestionsView.as_view(), name="user-suggestions"),
    path("<str:username>/follow/", views.FollowView.as_view(), name="user-follow"),
    path("<str:username>/followers/", views.FollowersView.as_view(), name="user-followers"),
    path("<str:username>/following/", views.FollowingView.as_view(), name="user-following"),
]
