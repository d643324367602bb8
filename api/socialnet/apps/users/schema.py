"""OpenAPI description of our authentication (drf-spectacular extension)."""

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme


class ScopedOAuth2Scheme(DjangoOAuthToolkitScheme):
    target_class = "apps.users.authentication.ScopedOAuth2Authentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema):
        # Reads need `read`, writes need `write`: the rule ScopedOAuth2Authentication enforces.
        return {self.name: ["read"] if auto_schema.method in ("GET", "HEAD", "OPTIONS") else ["write"]}
