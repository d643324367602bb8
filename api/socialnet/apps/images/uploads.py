"""Upload size enforced while the body streams in, before Django has buffered or spooled all of it."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework import status
from rest_framework.exceptions import APIException

# Room for the multipart boundaries, headers and a short alt text around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self):
        limit = settings.IMAGE_MAX_BYTES
        super().__init__(f"The file is too large: at most {limit / (1024 * 1024):g} MB is accepted.")


class SizeLimitedUploadHandler(FileUploadHandler):
    """First in the handler chain: counts the bytes of every uploaded file and aborts past IMAGE_MAX_BYTES.

    A declared Content-Length that is already too large is refused before a single byte of the body is read;
    a chunked or lying client is stopped at the first chunk that crosses the limit.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.max_bytes = settings.IMAGE_MAX_BYTES
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + MULTIPART_OVERHEAD:
            raise UploadTooLarge()
        return None  # let the next handlers do the actual parsing

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            raise UploadTooLarge()
        return raw_data

    def file_complete(self, file_size):
        return None
