from django.urls import path

from . import views

urlpatterns = [
    path("", views.HomeFeedView.as_view(), name="feed-home"),
    path("recommended/", views.RecommendedFeedView.as_view(), name="feed-recommended"),
    path("trending/", views.TrendingFeedView.as_view(), name="feed-trending"),
]
