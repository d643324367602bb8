"""Failed logins limited in Django itself (django-axes), per client address and per account.

Covers every path that checks a password: `/accounts/login/` and `/admin/login/` (both go through
`django.contrib.auth.authenticate`, which axes watches) and `/o/token/` (`LimitedTokenView` below, since
django-oauth-toolkit checks client secrets and codes without `authenticate`). The gateway's limits are a first
line; this one holds for anyone who reaches Django directly.

Choices, and why:
- The address is `client_ip` (apps.common.client_address), so one client behind the gateway is not everyone.
- The account is the username as the login form resolves it (NFKC, case-insensitive): "Alice" and "alice" are
  one account, so they are one counter.
- A successful login clears the counters *of that account* only. axes' own reset also clears everything from
  the address, which would let someone with an account of their own reset their address's counter between
  guesses at someone else's password.
- At `/o/token/` the "account" is a confidential client (its secret is the password). A wrong code or verifier
  counts per address only: counting it per client_id would let anyone lock the demo app for every user. A refused
  refresh token does not count (see LimitedTokenView.post).
"""

import base64
import binascii
import json
import math
import unicodedata
from urllib.parse import unquote_plus

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_lockout_message
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_application_model, get_grant_model
from oauth2_provider.views import IntrospectTokenView, RevokeTokenView, TokenView

from .oauth import JsonOrFormOAuthLibCore

CLIENT_PREFIX = "client:"  # ":" never appears in a username, so a client_id cannot collide with an account


def login_username(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account an attempt is about, normalised like the login lookup."""
    if credentials is not None:
        raw = credentials.get("username")
    else:
        data = getattr(request, "data", None) or request.POST
        raw = data.get("username")
    if not isinstance(raw, str) or not raw:
        return None
    if raw.startswith(CLIENT_PREFIX):
        return raw[:255]
    # Django's login form applies NFKC, and the user lookup is case-insensitive (SocialNetUserManager).
    return unicodedata.normalize("NFKC", raw).lower()[:255]


def lockout_parameters(request_or_attempt, credentials: dict | None) -> list:
    """AXES_LOCKOUT_PARAMETERS: per address always, and per account when the attempt names one.

    Two separate entries, not a combination: 10 failures from one address lock that address whatever the
    accounts, and 10 failures against one account lock that account whatever the addresses."""
    if isinstance(request_or_attempt, AccessAttempt):
        username = request_or_attempt.username
    else:
        username = get_client_username(request_or_attempt, credentials)
    return ["ip_address", "username"] if username else ["ip_address"]


class LoginLimitHandler(AxesDatabaseHandler):
    """axes' database handler (PostgreSQL is the truth; counters survive restarts and are shared by every
    process), with a success that clears only the account's own counters (module docstring)."""

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(username=login_username(request, {"username": user.get_username()})).delete()


class LoginLimitBackend(AxesStandaloneBackend):
    """axes' check before the password check: a locked-out address or account is refused even with the right
    password. Calls without a request (tests' `Client.login`, the shell) come from inside the server, not from a
    client, and are not counted; axes' own backend would raise on them."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After; JSON for the token endpoint, a page for the HTML logins."""
    cool_off = get_cool_off(request)
    seconds = max(1, math.ceil(cool_off.total_seconds())) if cool_off else 3600
    message = str(get_lockout_message())
    if request.path.startswith("/o/"):
        response = JsonResponse({"error": "too_many_attempts", "error_description": message, "detail": message})
    else:
        html = render_to_string(
            "registration/locked_out.html", {"message": message, "minutes": math.ceil(seconds / 60)}, request
        )
        response = HttpResponse(html)
    response.status_code = settings.AXES_HTTP_RESPONSE_CODE
    response["Retry-After"] = str(seconds)
    return response


def _token_params(request) -> dict[str, str]:
    # The same parsing as the endpoint itself (form or depth-limited JSON), so we judge the request it judged.
    return dict(JsonOrFormOAuthLibCore().extract_body(request))


def _client_id(request, params: dict[str, str]) -> str:
    """The client a token request names: HTTP Basic (how confidential clients authenticate) or the body."""
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.split(":", 1)[0])
    return params.get("client_id", "")


def _client_account(client_id: str) -> str | None:
    """The "account" a token request's secret protects: a confidential client, else none (module docstring)."""
    Application = get_application_model()
    if client_id and Application.objects.filter(client_id=client_id, client_type=Application.CLIENT_CONFIDENTIAL):
        return f"{CLIENT_PREFIX}{client_id}"
    return None


def _oauth_error(response) -> str | None:
    if response.status_code < 400 or not response.get("Content-Type", "").startswith("application/json"):
        return None
    try:
        return json.loads(response.content).get("error")
    except (ValueError, AttributeError):
        return None


class LimitedTokenView(TokenView):
    """`/o/token/` with failed attempts counted and locked out like the login pages, and a code that fails its
    exchange burned.

    Burning: a code presented with the wrong PKCE verifier (or redirect_uri, or none) is deleted, so whoever holds a
    stolen code gets one try, not one per guess, and the right verifier afterwards fails too (RFC 9700 §4.5:
    a failed attempt should invalidate the code)."""

    def post(self, request, *args, **kwargs):
        params = _token_params(request)
        client_id = _client_id(request, params)
        account = {"username": _client_account(client_id)}
        if not AxesProxyHandler.is_allowed(request, account):
            return lockout_response(request, None, account)
        response = super().post(request, *args, **kwargs)
        error = _oauth_error(response)
        # Any refusal but a failed client authentication (which anyone could cause without holding anything).
        burn = error not in (None, "invalid_client")
        if burn and params.get("grant_type") == "authorization_code" and params.get("code"):
            get_grant_model().objects.filter(code=params["code"], application__client_id=client_id).delete()
        # A wrong secret counts against the client; a wrong code or verifier only against the address (the
        # client authenticated fine, or is public). A refused refresh token does not count: apps racing their own
        # rotation fail that way innocently, and a 30-day random token is not something one guesses.
        guessing = error == "invalid_client" or (
            error == "invalid_grant" and params.get("grant_type") == "authorization_code"
        )
        if guessing:
            failed = account if error == "invalid_client" else {"username": None}
            user_login_failed.send(sender=type(self), credentials=failed, request=request)
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request, response, failed)
        return response


class _ClientAuthLimitedMixin:
    """Refused client authentication at an OAuth endpoint other than `/o/token/` counted and locked out per
    address, like a wrong code there: otherwise `/o/introspect/` and `/o/revoke_token/` would let anyone guess a
    confidential client's secret (or, at introspection, an access token with its scope) without a limit. Per address
    only, never per client: the gateway authenticates as a confidential client at `/o/introspect/` on every new
    token, and counting other people's guesses against that client would let anyone lock every user out."""

    def client_auth_refused(self, response) -> bool:
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        address_only = {"username": None}
        if request.method != "OPTIONS" and not AxesProxyHandler.is_allowed(request, address_only):
            return lockout_response(request, None, address_only)
        response = super().dispatch(request, *args, **kwargs)
        if request.method != "OPTIONS" and self.client_auth_refused(response):
            user_login_failed.send(sender=type(self), credentials=address_only, request=request)
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request, response, address_only)
        return response


# The mixin's dispatch replaces the views' own, which django-oauth-toolkit marks csrf_exempt (clients post there
# without a session): the mark has to be set again.
@method_decorator(csrf_exempt, name="dispatch")
class LimitedIntrospectTokenView(_ClientAuthLimitedMixin, IntrospectTokenView):
    def client_auth_refused(self, response) -> bool:
        # django-oauth-toolkit answers a caller that is neither an authenticated client nor a bearer of the
        # introspection scope with a bare 403 (401 where it adds an RFC 9728 challenge).
        return response.status_code in (401, 403)


@method_decorator(csrf_exempt, name="dispatch")
class LimitedRevokeTokenView(_ClientAuthLimitedMixin, RevokeTokenView):
    def client_auth_refused(self, response) -> bool:
        # RFC 7009 answers 200 for any token, known or not: only the client's own authentication can fail.
        return _oauth_error(response) == "invalid_client"
