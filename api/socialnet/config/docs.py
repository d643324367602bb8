"""Swagger UI at /api/docs/, wired so that its Authorize button completes the PKCE flow in a browser.

Swagger UI opens /o/authorize/ in a popup and waits for the popup's last page, `oauth2-redirect.html`, to hand
the code back through `window.opener`. Two things broke that:
- Swagger UI sends `redirect_uri=<page directory>/oauth2-redirect.html`, i.e. /api/docs/oauth2-redirect.html,
  which did not exist (the sidecar serves it under /static/): served here, and registered for the demo client.
- drf-spectacular sends `Cross-Origin-Opener-Policy: unsafe-none` on the docs page (for authorization servers on
  another origin), while our login and consent pages send Django's `same-origin`. A popup whose COOP differs from
  its opener's is moved to another browsing context group and loses `window.opener`, so the code never came
  back. Our authorization server is the docs' own origin, so the docs page uses `same-origin` like the rest.
"""

from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView


class SwaggerView(SpectacularSwaggerView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Cross-Origin-Opener-Policy"] = "same-origin"
        return response


# The sidecar's page, whose script is addressed relative to the page: point it at the static file instead.
oauth2_redirect_view = TemplateView.as_view(template_name="swagger/oauth2-redirect.html")
