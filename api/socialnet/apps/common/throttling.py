"""DRF throttles that fail open: the counters live in the cache (Redis), and losing Redis must not take the API
down with it (ARCHITECTURE.md: the API keeps answering, slower). The gateway still limits per process then."""

import logging

from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from .client_address import client_ip

logger = logging.getLogger(__name__)


class FailOpenMixin:
    def get_ident(self, request):
        # DRF's own get_ident trusts X-Forwarded-For by a proxy count, whoever sent it; ours checks the sender.
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache backend's connection errors (redis-py, socket) have no common base
            logger.warning("throttle %s skipped: cache unavailable", type(self).__name__, exc_info=True)
            return True


class FailOpenAnonRateThrottle(FailOpenMixin, AnonRateThrottle):
    pass


class FailOpenUserRateThrottle(FailOpenMixin, UserRateThrottle):
    pass


class FailOpenScopedRateThrottle(FailOpenMixin, ScopedRateThrottle):
    pass
