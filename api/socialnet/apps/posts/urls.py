from django.urls import path

from . import views

# `<int:...>`: a non-numeric id matches no route and is a plain 404, never a lookup with a bad value. Likes, views
# and comments of a post are routed by their own apps, under the same /posts/ prefix (config/urls.py).
urlpatterns = [
    path("", views.PostListView.as_view(), name="post-list"),
    path("<int:post_id>/", views.PostDetailView.as_view(), name="post-detail"),
]
