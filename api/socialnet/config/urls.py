from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from oauth2_provider import views as oauth_views

from apps.comments.urls import post_urlpatterns as post_comment_patterns
from apps.common.views import HealthView
from apps.images.views import media_view
from apps.privacy.views import data_export_download
from apps.safety.urls import filter_urlpatterns
from apps.users import pages as account_pages
from apps.users.login_limits import LimitedIntrospectTokenView, LimitedRevokeTokenView, LimitedTokenView
from config.docs import SwaggerView, oauth2_redirect_view

# Only the OAuth endpoints we support: no application-management or device-flow views for end users.
oauth_patterns = (
    [
        path("authorize/", oauth_views.AuthorizationView.as_view(), name="authorize"),
        # Failed attempts limited like the login pages, and a code burned by a failed exchange.
        path("token/", LimitedTokenView.as_view(), name="token"),
        path("revoke_token/", LimitedRevokeTokenView.as_view(), name="revoke-token"),
        path("introspect/", LimitedIntrospectTokenView.as_view(), name="introspect"),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("o/", include(oauth_patterns)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=False), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Where emailed links land (API.md, Account lifecycle).
    path("accounts/verify-email/", account_pages.verify_email_page, name="verify-email-page"),
    path("accounts/reset-password/", account_pages.reset_password_page, name="reset-password-page"),
    path("health/", HealthView.as_view(), name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Where Swagger UI's Authorize popup lands (the demo client's redirect URI), see config.docs.
    path("api/docs/oauth2-redirect.html", oauth2_redirect_view, name="swagger-oauth2-redirect"),
    # follows and safety before users: "users/suggestions/" must win over "users/<username>/".
    path("users/", include("apps.privacy.urls")),
    path("users/", include("apps.follows.urls")),
    path("users/", include("apps.safety.urls")),
    path("users/", include("apps.users.urls")),
    path("posts/", include("apps.posts.urls")),
    path("posts/", include("apps.interactions.urls")),
    path("posts/", include(post_comment_patterns)),
    path("comments/", include("apps.comments.urls")),
    path("images/", include("apps.images.urls")),
    # Media files only through this view (visibility and URL signatures), never as a served directory.
    path("media/<path:key>", media_view, name="media"),
    path("exports/download/", data_export_download, name="data-export-download"),
    path("feed/", include("apps.feed.urls")),
    path("tags/", include("apps.tags.urls")),
    path("search/", include("apps.search.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("filters/", include(filter_urlpatterns)),
    path("", include("apps.moderation.urls")),  # /reports/ and /moderation/...
]

handler400 = "apps.common.exceptions.json_bad_request"
handler403 = "apps.common.exceptions.json_permission_denied"
handler404 = "apps.common.exceptions.json_not_found"
handler500 = "apps.common.exceptions.json_server_error"
