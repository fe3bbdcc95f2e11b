"""Response headers Django's SecurityMiddleware does not set, and a busy database's 503."""

import logging
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Everything the pages use is served from this origin (htmx, Chart.js and our modules are
# vendored), so the policy can be strict. `media-src blob:` lets the learner play back a
# recording before uploading it.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "microphone=(self), camera=(), geolocation=(), payment=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The admin uses inline scripts and styles; it is staff-only and keeps Django's own.
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Scores, recordings and class data are personal: never kept by shared caches.
            response.headers.setdefault("Cache-Control", "private")
        return response


DATABASE_BUSY_RETRY_SECONDS = 5
DATABASE_BUSY_MESSAGE = (
    "The server is busy and could not save that just now. Nothing is lost: wait a few "
    "seconds and try again."
)
UPLOAD_BUSY_MESSAGE = (
    "The server is busy and could not take your recording just now. Your recording is still "
    "here: wait a few seconds and send it again."
)


class DatabaseUnavailableMiddleware:
    """A database that stays locked or cannot be reached answers 503 with a plain message.

    SQLite waits ``SQLITE_BUSY_TIMEOUT_SECONDS`` for another writer's lock and PostgreSQL may
    restart; either way the request is refused whole (its transaction rolled back), so the
    learner is told to send it again rather than shown a server error. The pages rendered
    here touch no database: they must work while it is unavailable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError):
            return None
        logger.warning("Database unavailable for %s %s: %s", request.method, request.path,
                       exception)
        is_upload = request.method == "POST" and bool(request.FILES)
        message = UPLOAD_BUSY_MESSAGE if is_upload else DATABASE_BUSY_MESSAGE
        if request.headers.get("HX-Request"):
            body = render_to_string("assessments/partials/upload_error.html",
                                    {"message": message})
        else:
            body = render_to_string("503.html", {"message": message})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = str(DATABASE_BUSY_RETRY_SECONDS)
        return response
