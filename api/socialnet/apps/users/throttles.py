"""Throttles of the account lifecycle endpoints. Rates are read from settings on every request (DRF copies them
once, at import), so a deployment's and a test's `settings.REST_FRAMEWORK` are what apply."""

import hashlib

from django.conf import settings

from apps.common.throttling import FailOpenScopedRateThrottle


class LifecycleRateThrottle(FailOpenScopedRateThrottle):
    """Per user when authenticated, else per client address (DRF's scoped throttle)."""

    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]


class PasswordResetAddressThrottle(LifecycleRateThrottle):
    """Per target address, whoever asks: many clients cannot flood one mailbox with reset emails. It counts
    addresses whether or not an account has them, so a 429 says nothing about who is registered."""

    scope_attr = "throttle_address_scope"

    def get_cache_key(self, request, view):
        data = request.data
        email = data.get("email") if hasattr(data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None  # the serializer answers 400; nothing to count
        digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
