"""The JSON API the session contract drives, and the instance header the profile reads."""

import json
import os
from collections.abc import Callable

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods


class InstanceHeader:
    """Every response says which instance answered (the profile's `identity.header`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Instance-Id"] = os.environ["INSTANCE_ID"]
        return response


@ensure_csrf_cookie  # as a Django single-page app does: its JavaScript reads csrftoken
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def app_page(request: HttpRequest) -> HttpResponse:
    """A page loading its script by the hashed name collectstatic gave it (from the CDN)."""
    return HttpResponse(f'<html><script src="{static("parity/app.js")}"></script></html>')


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["POST"])
def api_login(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body or b"{}")
    user = authenticate(request, username=body.get("username"), password=body.get("password"))
    if user is None:
        return JsonResponse({"error": "bad credentials"}, status=401)
    login(request, user)
    return JsonResponse({"user": user.get_username()})


@csrf_exempt
@require_http_methods(["PUT"])
def api_write(request: HttpRequest, key: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not logged in"}, status=401)
    data = request.session.get("data", {})
    data[key] = json.loads(request.body)["value"]
    request.session["data"] = data
    return JsonResponse({"ok": True})


def api_read(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not logged in"}, status=401)
    return JsonResponse(
        {"user": request.user.get_username(), "data": request.session.get("data", {})}
    )


@csrf_exempt
@require_http_methods(["POST"])
def api_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return JsonResponse({"ok": True})


@login_required
@require_http_methods(["PUT"])
def note_write(request: HttpRequest, key: str) -> HttpResponse:
    """A write a browser makes with Django's CSRF header (no csrf_exempt)."""
    data = request.session.get("data", {})
    data[key] = json.loads(request.body)["value"]
    request.session["data"] = data
    return JsonResponse({"ok": True})


@login_required
def notes(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {"user": request.user.get_username(), "data": request.session.get("data", {})}
    )
