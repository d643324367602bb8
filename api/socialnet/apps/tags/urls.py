from django.urls import path

from . import views

# "trending/" first: a tag named #trending is reached as /tags/trending/posts/ and the like, never its detail.
urlpatterns = [
    path("trending/", views.TrendingTagsView.as_view(), name="tag-trending"),
    path("<str:name>/", views.TagDetailView.as_view(), name="tag-detail"),
    path("<str:name>/posts/", views.TagPostsView.as_view(), name="tag-posts"),
    path("<str:name>/follow/", views.TagFollowView.as_view(), name="tag-follow"),
]
