from django.urls import path

from . import views

# Mounted at /comments/ (config/urls.py).
urlpatterns = [
    path("<int:comment_id>/", views.CommentDetailView.as_view(), name="comment-detail"),
]

# Mounted at /posts/: the comments of one post.
post_urlpatterns = [
    path("<int:post_id>/comments/", views.PostCommentsView.as_view(), name="post-comments"),
]
