"""The small HTML pages that emailed links open (API.md, Account lifecycle): they call the same services as the
API, so the flows work without a front end. A GET only shows a form and a POST (CSRF-protected) acts: mail
scanners and link previews fetch links, and must not use up a single-use token."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework.exceptions import ValidationError

from . import lifecycle
from .serializers import TOKEN_MAX_LENGTH


def _token(source) -> str:
    token = source.get("token", "")
    return token if len(token) <= TOKEN_MAX_LENGTH else ""


def _messages(exc: ValidationError) -> list[str]:
    detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
    return [str(message) for messages in detail.values() for message in messages]


@never_cache
@csrf_protect
def verify_email_page(request):
    token = _token(request.POST if request.method == "POST" else request.GET)
    context = {"token": token, "done": False, "errors": []}
    if request.method == "POST":
        try:
            lifecycle.email_verify(token=token)
            context["done"] = True
        except ValidationError as exc:
            context["errors"] = _messages(exc)
    elif not token:
        context["errors"] = [lifecycle.INVALID_TOKEN]
    return render(request, "users/pages/verify_email.html", context, status=400 if context["errors"] else 200)


@never_cache
@csrf_protect
@sensitive_post_parameters("new_password", "new_password2")
def reset_password_page(request):
    source = request.POST if request.method == "POST" else request.GET
    token = _token(source)
    context = {"token": token, "done": False, "errors": []}
    if not token:
        context["errors"] = [lifecycle.INVALID_TOKEN]
    elif request.method == "POST":
        new_password = source.get("new_password", "")
        if new_password != source.get("new_password2", ""):
            context["errors"] = ["The two passwords differ."]
        else:
            try:
                lifecycle.password_reset_confirm(token=token, new_password=new_password)
                context["done"] = True
            except ValidationError as exc:
                context["errors"] = _messages(exc)
    return render(request, "users/pages/reset_password.html", context, status=400 if context["errors"] else 200)
