"""apps.common.middleware: the message storage is built only for a request that uses it."""

from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.utils.functional import empty

from apps.common.middleware import LazyMessageMiddleware


def through_middleware(rf, view, cookies=None):
    request = rf.get("/")
    request.COOKIES.update(cookies or {})
    SessionMiddleware(lambda r: None).process_request(request)
    response = LazyMessageMiddleware(view)(request)
    return request, response


def test_request_that_uses_no_message_builds_no_storage(rf):
    request, response = through_middleware(rf, lambda request: HttpResponse("ok"))
    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_message_added_on_one_request_is_read_once_on_the_next(rf):
    def add(request):
        messages.success(request, "Saved.")
        return HttpResponse("ok")

    def read(request):
        return HttpResponse(" ".join(str(m) for m in messages.get_messages(request)))

    _, first = through_middleware(rf, add)
    second = through_middleware(rf, read, cookies={"messages": first.cookies["messages"].value})[1]
    assert second.content == b"Saved."
    assert second.cookies["messages"]["max-age"] == 0  # read once: the cookie is deleted
