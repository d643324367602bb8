"""Request hygiene applied to every view, DRF or not (OAuth pages, media, admin)."""

import logging

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.exceptions import MiddlewareNotUsed
from django.db import DataError
from django.http import JsonResponse
from django.utils.functional import SimpleLazyObject

from .client_address import compute_client_ip, current_client_ip
from .exceptions import json_not_found

logger = logging.getLogger(__name__)

NUL_MARKERS = (b"\x00", b"%00", b"\\u0000")
NUL_MESSAGE = "NUL characters are not allowed in requests."


class RejectNulCharactersMiddleware:
    """400 for NUL characters in the path, the query string or a (non-multipart) body.

    PostgreSQL cannot store NUL in text, so such input would otherwise reach the database and fail as a 500.
    No field of this API can legitimately contain one; multipart uploads are binary and are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            return JsonResponse({"detail": NUL_MESSAGE}, status=400)
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "").lower():
            return True
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/"):
            return False
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        if not 0 < length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return False  # empty, or too large: Django's own limit answers that one
        body = request.body.lower()
        return any(marker in body for marker in NUL_MARKERS)

    def process_exception(self, request, exception):
        # Safety net for a NUL that arrived some other way (e.g. inside a multipart text field).
        if isinstance(exception, DataError) and "NUL" in str(exception):
            logger.info("refused NUL character in %s %s", request.method, request.path)
            return JsonResponse({"detail": NUL_MESSAGE}, status=400)
        return None


class ClientAddressMiddleware:
    """Sets `request.client_ip` once, before anything (throttles, login limits, logs) asks who the client is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_ip = compute_client_ip(request.META)
        token = current_client_ip.set(request.client_ip)
        try:
            return self.get_response(request)
        finally:
            current_client_ip.reset(token)


class JsonNotFoundWhenDebugMiddleware:
    """With DEBUG on, Django answers an unknown URL (and an Http404 outside DRF) with its HTML page listing the URL
    patterns instead of calling handler404. The API's 404s are JSON in every mode (`make run` with
    DJANGO_DEBUG=true, the embedded stack), so that page is swapped for handler404's answer; without DEBUG this
    middleware is not loaded at all."""

    def __init__(self, get_response):
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and response.get("Content-Type", "").startswith("text/html"):
            return json_not_found(request)
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's MessageMiddleware, building the message storage only when something adds or reads a message.

    Only the admin's pages use messages (the admin requires the middleware: a subclass satisfies its check), yet
    the stock middleware built the storage, a cookie signer and a session storage, for every request: about 15 µs,
    some 5 % of the CPU of a request to a vanilla DRF view. Untouched, a storage has nothing to save or expire."""

    def process_request(self, request):
        def storage():
            request._message_storage = default_storage(request)
            return request._message_storage

        request._messages = SimpleLazyObject(storage)

    def process_response(self, request, response):
        if not hasattr(request, "_message_storage"):
            return response
        return super().process_response(request, response)
