from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from oauth2_provider import views as oauth_views

from apps.comments import urls as comments_urls
from apps.common.views import HealthView
from apps.follows import urls as follows_urls
from apps.images.views import media_view
from apps.interactions import urls as interactions_urls
from apps.posts import urls as posts_urls
from apps.privacy import urls as privacy_urls
from apps.privacy.views import data_export_download
from apps.safety import urls as safety_urls
from apps.users import pages as account_pages
from apps.users import urls as users_urls
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

# One include per prefix, as each include passed over costs an exception and a list of what was tried. The apps'
# lists are joined in the order that decides: follows and safety before users, as "users/suggestions/" must win over
# "users/<username>/"; comments' and interactions' routes hang off one post.
user_patterns = [
    *privacy_urls.urlpatterns,
    *follows_urls.urlpatterns,
    *safety_urls.urlpatterns,
    *users_urls.urlpatterns,
]
post_patterns = [*posts_urls.urlpatterns, *interactions_urls.urlpatterns, *comments_urls.post_urlpatterns]

# Django tries these in order on every request: the API's own paths first, the busiest first, then the admin, OAuth
# and HTML pages. No two prefixes overlap (moderation's "" include, last, holds only "reports/" and
# "moderation/..."), so the order decides no URL.
urlpatterns = [
    path("users/", include(user_patterns)),
    path("posts/", include(post_patterns)),
    path("feed/", include("apps.feed.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("comments/", include(comments_urls.urlpatterns)),
    path("search/", include("apps.search.urls")),
    path("tags/", include("apps.tags.urls")),
    path("images/", include("apps.images.urls")),
    # Media files only through this view (visibility and URL signatures), never as a served directory.
    path("media/<path:key>", media_view, name="media"),
    path("filters/", include(safety_urls.filter_urlpatterns)),
    path("exports/download/", data_export_download, name="data-export-download"),
    path("health/", HealthView.as_view(), name="health"),
    path("o/", include(oauth_patterns)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=False), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Where emailed links land (API.md, Account lifecycle).
    path("accounts/verify-email/", account_pages.verify_email_page, name="verify-email-page"),
    path("accounts/reset-password/", account_pages.reset_password_page, name="reset-password-page"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Where Swagger UI's Authorize popup lands (the demo client's redirect URI), see config.docs.
    path("api/docs/oauth2-redirect.html", oauth2_redirect_view, name="swagger-oauth2-redirect"),
    path("admin/", admin.site.urls),
    path("", include("apps.moderation.urls")),  # /reports/ and /moderation/...
]

handler400 = "apps.common.exceptions.json_bad_request"
handler403 = "apps.common.exceptions.json_permission_denied"
handler404 = "apps.common.exceptions.json_not_found"
handler500 = "apps.common.exceptions.json_server_error"
