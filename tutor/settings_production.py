"""Production settings: the defaults plus a refusal to start with unsafe values."""

from django.core.exceptions import ImproperlyConfigured

from tutor.settings import *  # noqa: F403
from tutor.settings import (
    ATTEMPT_STUCK_AFTER_SECONDS,
    ATTEMPT_TASK_TIME_LIMIT,
    CELERY_TASK_ALWAYS_EAGER,
    DEBUG,
    DEMO_MODE,
    INSECURE_DEFAULT_SECRET_KEY,
    SECRET_KEY,
)

if DEBUG:
    raise ImproperlyConfigured("Production settings refuse DEBUG=true.")
if SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("Set SECRET_KEY to a long random value (50+ characters).")

if DEMO_MODE:
    # The demo loader creates a superuser whose password is published in the README.
    raise ImproperlyConfigured("Production settings refuse DEMO_MODE=true.")
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks would assess inside the upload request and lose the retry/sweep guarantees.
    raise ImproperlyConfigured("Production settings refuse CELERY_TASK_ALWAYS_EAGER=true.")
if ATTEMPT_STUCK_AFTER_SECONDS <= ATTEMPT_TASK_TIME_LIMIT:
    # Otherwise the sweep would hand a still-running assessment to a second worker.
    raise ImproperlyConfigured(
        "ATTEMPT_STUCK_AFTER_SECONDS must be longer than ATTEMPT_TASK_TIME_LIMIT."
    )

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)  # noqa: F405
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)  # noqa: F405
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# gunicorn serves the collected static files itself (`collectstatic` runs in the image).
MIDDLEWARE = [
    *MIDDLEWARE[:1],  # noqa: F405 - SecurityMiddleware stays first
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[1:],  # noqa: F405
]
