from django.urls import path

from . import views

urlpatterns = [
    path("", views.ImageCreateView.as_view(), name="image-create"),
    path("<int:image_id>/", views.ImageDetailView.as_view(), name="image-detail"),
]
