"""Response headers Django's SecurityMiddleware does not set, and a busy database's 503."""

from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse

from tutor.views.errors import database_busy

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


class DatabaseUnavailableMiddleware:
    """A database that stays locked or cannot be reached answers 503 with a plain message.

    SQLite waits ``SQLITE_BUSY_TIMEOUT_SECONDS`` for another writer's lock and PostgreSQL may
    restart; either way the view's transaction is rolled back whole, so the learner is told
    to send it again rather than shown a server error (with DEBUG on too, unlike
    ``handler500``, which covers what happens outside views).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError):
            return database_busy(request, exception)
        return None
