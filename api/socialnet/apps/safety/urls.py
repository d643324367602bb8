from django.urls import path

from . import views

# Included under users/ before the users app: fixed paths must win over "<username>/".
urlpatterns = [
    path("relationships/", views.RelationshipsView.as_view(), name="user-relationships"),
    path("me/blocks/", views.MyBlocksView.as_view(), name="user-my-blocks"),
    path("me/mutes/", views.MyMutesView.as_view(), name="user-my-mutes"),
    path("<str:username>/block/", views.BlockView.as_view(), name="user-block"),
    path("<str:username>/mute/", views.MuteView.as_view(), name="user-mute"),
]

# Mounted at /filters/ by config.urls.
filter_urlpatterns = [
    path("", views.KeywordFilterListView.as_view(), name="filter-list"),
    path("<int:filter_id>/", views.KeywordFilterDetailView.as_view(), name="filter-detail"),
]
