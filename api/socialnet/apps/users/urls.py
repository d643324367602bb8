from django.urls import path

from . import views

# Fixed paths first: "me", "create" and "suggestions" are reserved usernames for this reason.
urlpatterns = [
    path("create/", views.UserCreateView.as_view(), name="user-create"),
    path("me/", views.MeView.as_view(), name="user-me"),
    path("me/password/", views.PasswordChangeView.as_view(), name="user-password-change"),
    path("me/verify-email/resend/", views.EmailVerificationResendView.as_view(), name="user-verify-email-resend"),
    # Usernames (API.md: [A-Za-z0-9_]) cannot contain "-", so these never shadow a profile.
    path("verify-email/", views.EmailVerifyView.as_view(), name="user-verify-email"),
    path("password-reset/", views.PasswordResetView.as_view(), name="user-password-reset"),
    path("password-reset/confirm/", views.PasswordResetConfirmView.as_view(), name="user-password-reset-confirm"),
    path("<str:username>/", views.PublicProfileView.as_view(), name="user-detail"),
]
