from django.urls import path

from . import views

urlpatterns = [
    path("<int:comment_id>/", views.CommentDetailView.as_view(), name="comment-detail"),
]
