"""Bearer tokens checked at the edge by RFC 7662 introspection against Django, with a short shared cache.

The gateway is a confidential OAuth client (GATEWAY_CLIENT_ID/SECRET) authenticating with HTTP Basic. Results,
positive and negative, are cached under a hash of the token (never the token itself) for at most
GATEWAY_INTROSPECTION_CACHE_SECONDS and never past the token's `exp`, so a token revoked at Django stops working
here within that time. A revocation that passes through the gateway evicts the entry at once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7662 import IntrospectTokenValidator

from .cache import TTLCache
from .config import GatewayConfig

logger = logging.getLogger(__name__)

# RFC 6750 §2.1 b64token.
BEARER_RE = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)


class IntrospectionUnavailable(Exception):
    """Django could not answer the introspection request (down, too slow, or refused the gateway's client)."""

    def __init__(self, message: str, *, too_slow: bool = False):
        super().__init__(message)
        self.too_slow = too_slow  # Django is there but did not answer in time: a 504, like any slow upstream


@dataclass(frozen=True)
class BearerCheck:
    token: str
    token_key: str  # sha256 of the token: the cache and rate-limit key, safe to store and log


def bearer_token(authorization: str) -> str | None:
    """The token of a `Bearer` Authorization header; "" for a malformed bearer header; None for other schemes."""
    if authorization.strip().split(" ", 1)[0].lower() != "bearer":
        return None
    match = BEARER_RE.fullmatch(authorization.strip())
    return match.group(1) if match else ""


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CachedIntrospectionValidator(IntrospectTokenValidator):
    """Authlib's RFC 7662 resource-server validator, asking Django through a pooled OAuth2Session."""

    def __init__(self, config: GatewayConfig, cache: TTLCache):
        super().__init__(realm="api")
        self.config = config
        self.cache = cache
        self.session = OAuth2Session(
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            revocation_endpoint_auth_method="client_secret_basic",
        )
        self.session.trust_env = False  # no proxy or .netrc credentials from the environment
        self._inflight: dict[str, threading.Lock] = {}
        self._inflight_guard = threading.Lock()

    def introspect_token(self, token_string: str, before_asking=None) -> dict:
        key = token_key(token_string)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        if before_asking is not None:
            before_asking()  # may refuse (raise) before Django is bothered
        # Single flight: when a popular token's entry expires, the threads that miss together ask Django once.
        with self._inflight_guard:
            lock = self._inflight.setdefault(key, threading.Lock())
        try:
            with lock:
                cached = self.cache.get(key)
                return cached if cached is not None else self._ask_django(token_string, key)
        finally:
            with self._inflight_guard:
                if self._inflight.get(key) is lock:
                    del self._inflight[key]

    def _ask_django(self, token_string: str, key: str) -> dict:
        try:
            response = self.session.introspect_token(
                self.config.introspection_url,
                token=token_string,
                token_type_hint="access_token",
                timeout=(self.config.connect_timeout, self.config.introspection_timeout),
            )
        except requests.Timeout as exc:
            raise IntrospectionUnavailable(str(exc), too_slow=not isinstance(exc, requests.ConnectTimeout)) from exc
        except requests.RequestException as exc:
            raise IntrospectionUnavailable(str(exc)) from exc
        if response.status_code != 200:
            logger.error(
                "Introspection refused with HTTP %s: is the gateway client %r registered with this secret?",
                response.status_code,
                self.config.client_id,
            )
            raise IntrospectionUnavailable(f"introspection answered HTTP {response.status_code}")
        try:
            result = response.json()
        except ValueError as exc:
            raise IntrospectionUnavailable("introspection answered something that is not JSON") from exc
        if not isinstance(result, dict):
            raise IntrospectionUnavailable("introspection answered something that is not a JSON object")
        self.cache.set(key, result, self.cache_ttl(result))
        return result

    def cache_ttl(self, result: dict) -> int:
        ttl = self.config.introspection_cache_seconds
        if result.get("active") and isinstance(result.get("exp"), int | float):
            ttl = min(ttl, int(result["exp"] - time.time()))
        return ttl

    def validate_token(self, token, scopes, request):
        if token.get("active") is not True:
            # Authlib reads token["active"] and raises KeyError (a 500) for an answer without it; RFC 7662 makes
            # `active` required, so an answer without it vouches for nothing.
            raise InvalidTokenError(realm=self.realm)
        super().validate_token(token, scopes, request)
        exp = token.get("exp")
        if isinstance(exp, int | float) and exp <= time.time():
            raise InvalidTokenError(realm=self.realm)

    def is_active(self, token_string: str, before_asking=None) -> bool:
        """True for an active, unexpired token; raises IntrospectionUnavailable when Django cannot tell.
        `before_asking` runs only on a cache miss, right before Django would be asked."""
        result = self.introspect_token(token_string, before_asking)
        try:
            self.validate_token(result, None, None)
        except InvalidTokenError:
            return False
        return True

    def known_active(self, key: str) -> bool:
        """Whether this process's own memory already vouches for the token (its token_key): no Redis, no Django.
        False means "ask is_active()", not "inactive"."""
        result = self.cache.memory.get(key)
        if result is None:
            return False
        try:
            self.validate_token(result, None, None)
        except InvalidTokenError:
            return False
        return True

    def forget(self, token_string: str) -> None:
        self.cache.delete(token_key(token_string))
