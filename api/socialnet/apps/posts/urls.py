from django.urls import path

from apps.comments.views import PostCommentsView
from apps.interactions.views import PostLikesView, PostLikeView, PostViewView

from . import views

# `<int:...>`: a non-numeric id matches no route and is a plain 404, never a lookup with a bad value.
urlpatterns = [
    path("", views.PostListView.as_view(), name="post-list"),
    path("<int:post_id>/", views.PostDetailView.as_view(), name="post-detail"),
    path("<int:post_id>/like/", PostLikeView.as_view(), name="post-like"),
    path("<int:post_id>/view/", PostViewView.as_view(), name="post-view"),
    path("<int:post_id>/likes/", PostLikesView.as_view(), name="post-likes"),
    path("<int:post_id>/comments/", PostCommentsView.as_view(), name="post-comments"),
]
