from django.urls import path

from . import views

# Mounted at /posts/ (config/urls.py): likes and views hang off one post.
urlpatterns = [
    path("<int:post_id>/like/", views.PostLikeView.as_view(), name="post-like"),
    path("<int:post_id>/view/", views.PostViewCounterView.as_view(), name="post-view"),
    path("<int:post_id>/likes/", views.PostLikesView.as_view(), name="post-likes"),
]
