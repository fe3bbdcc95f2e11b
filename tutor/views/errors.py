"""Error answers a person can read: busy database, expired form, server error.

Each is safe to render when things are broken: the busy and server-error pages need no
database and no user, and the htmx variants are the recorder's own error fragment, so the
page shows a sentence instead of a raw error document pasted into it.
"""

from __future__ import annotations

import logging
import sys

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

DATABASE_BUSY_RETRY_SECONDS = 5
DATABASE_BUSY_MESSAGE = (
    "The server is busy and could not save that just now. Nothing is lost: wait a few "
    "seconds and try again."
)
UPLOAD_BUSY_MESSAGE = (
    "The server is busy and could not take your recording just now. Your recording is still "
    "here: wait a few seconds and send it again."
)
FORM_EXPIRED_MESSAGE = (
    "This page has expired, for example because you signed out or in again in another tab. "
    "Reload the page and try again."
)
UPLOAD_FORM_EXPIRED_MESSAGE = (
    "This page has expired, for example because you signed in again in another tab. Your "
    "recording is still here: save it with the player's menu if you want to keep it, then "
    "reload the page and send it again."
)


def _fragment(message: str, *, status: int) -> HttpResponse:
    body = render_to_string("assessments/partials/upload_error.html", {"message": message})
    return HttpResponse(body, status=status)


def database_busy(request: HttpRequest, error: OperationalError) -> HttpResponse:
    """503 for a database that stayed locked or could not be reached; the request is
    refused whole (its transaction rolled back), so sending it again is safe."""
    logger.warning("Database unavailable for %s %s: %s", request.method, request.path, error)
    is_upload = request.method == "POST" and bool(request.FILES)
    message = UPLOAD_BUSY_MESSAGE if is_upload else DATABASE_BUSY_MESSAGE
    if request.headers.get("HX-Request"):
        response = _fragment(message, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(DATABASE_BUSY_RETRY_SECONDS)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the token no longer matches, almost always a stale page."""
    logger.info("CSRF refusal for %s %s: %s", request.method, request.path, reason)
    if request.headers.get("HX-Request") or request.headers.get("X-CSRFToken"):
        message = UPLOAD_FORM_EXPIRED_MESSAGE if request.FILES else FORM_EXPIRED_MESSAGE
        return _fragment(message, status=403)
    body = render_to_string("403_csrf.html", {"message": FORM_EXPIRED_MESSAGE}, request=request)
    return HttpResponse(body, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: also reached by errors outside any view (saving the session after
    one), which middleware cannot catch — a busy database there still gets its 503."""
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError):
        return database_busy(request, error)
    if request.headers.get("HX-Request"):
        return _fragment("Something went wrong on our side. Please try again in a few minutes.",
                         status=500)
    return HttpResponse(render_to_string("500.html"), status=500)
