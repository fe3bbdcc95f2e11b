"""Settings for Pronunciation Tutor.

Everything comes from environment variables (see ``.env.example``) with defaults that run
the whole product on one machine with no services: SQLite and media under ``var/``, an
embedded file-system Celery broker, a file-based cache and the offline engine. Production
deployments use ``tutor.settings_production``, which refuses unsafe values.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tutor.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TUTOR_VAR_DIR", str(BASE_DIR / "var")))

# The development fallback is deliberately recognisable so production settings can refuse it.
INSECURE_DEFAULT_SECRET_KEY = "insecure-dev-key-change-me"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "tutor",
    "assessments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tutor.middleware.SecurityHeadersMiddleware",
    "tutor.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "tutor.urls"
WSGI_APPLICATION = "tutor.wsgi.application"
AUTH_USER_MODEL = "tutor.User"
LOGIN_URL = "login"
# A stale form (signed in again elsewhere) gets a sentence, not Django's developer page.
CSRF_FAILURE_VIEW = "tutor.views.errors.csrf_failure"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker write to one SQLite file: wait for locks instead of failing at once,
    # and use WAL so readers never block the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env_float("SQLITE_BUSY_TIMEOUT_SECONDS", 20.0),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # SQLite creates the file but not its folder. Nothing else may have made var/ yet: the
    # order of Django's system checks is not fixed, so do not rely on the file cache's.
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": CACHE_URL}}
else:
    # Shared by the web and worker processes (the Azure token cache relies on that).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: recordings go through a permission-checked view
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    # Embedded broker: messages are files under var/, shared by web and worker, no server.
    # tutor/celery.py creates the folders. A message is removed when a worker takes it, so
    # one held by a worker that is killed is gone: the stuck-attempt sweep re-queues it.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # The worker lists the folder this often; the default 1 s would dominate turnaround.
        "polling_interval": env_float("CELERY_FILESYSTEM_POLLING_INTERVAL", 0.1),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis: a message whose worker died unacknowledged comes back after this long. It
        # must exceed the longest countdown a retry uses, or the retry runs twice.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900),
        # An unreachable Redis must fail the upload's enqueue fast, never hang the request:
        # the publish is one try bounded by this (a connect in the same network takes ms)…
        "socket_connect_timeout": env_float("CELERY_BROKER_SOCKET_CONNECT_TIMEOUT", 1.0),
        # …and kombu must not connect again 2 s later (its default) when that try is
        # refused: the sweep sends the attempt instead. The worker reconnects under the
        # broker_connection_* settings, which this does not change.
        "max_retries": 0,
        "socket_timeout": env_float("CELERY_BROKER_SOCKET_TIMEOUT", 10.0),
    }
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 1.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The Attempt.status column is the source of truth; Celery results are never read.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Workers exchange no events or gossip: nothing here reads them, and they cost broker traffic.
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-attempts": {
        "task": "assessments.tasks.requeue_stuck_attempts",
        "schedule": env_float("ATTEMPT_SWEEP_INTERVAL_SECONDS", 60.0),
        # A sweep that waited longer than one interval is superseded by the next one.
        "options": {"expires": env_float("ATTEMPT_SWEEP_INTERVAL_SECONDS", 60.0)},
    },
}

# --- Assessment -------------------------------------------------------------------------
ASSESSMENT_ENGINE = env_str("ASSESSMENT_ENGINE", "auto")
AZURE_SPEECH_KEY = env_str("AZURE_SPEECH_KEY")
AZURE_SPEECH_REGION = env_str("AZURE_SPEECH_REGION")
AZURE_SPEECH_ENDPOINT = env_str("AZURE_SPEECH_ENDPOINT")
AZURE_SPEECH_TOKEN_ENDPOINT = env_str("AZURE_SPEECH_TOKEN_ENDPOINT")
AZURE_SPEECH_AUTH = env_str("AZURE_SPEECH_AUTH", "key")  # key | token | entra
AZURE_SPEECH_RESOURCE_ID = env_str("AZURE_SPEECH_RESOURCE_ID")
AZURE_SPEECH_ENTRA_TOKEN = env_str("AZURE_SPEECH_ENTRA_TOKEN")
AZURE_SPEECH_STREAM = env_bool("AZURE_SPEECH_STREAM", True)
AZURE_SPEECH_CONNECT_TIMEOUT = env_float("AZURE_SPEECH_CONNECT_TIMEOUT", 5.0)
AZURE_SPEECH_READ_TIMEOUT = env_float("AZURE_SPEECH_READ_TIMEOUT", 30.0)
AZURE_SPEECH_RETRY_BUDGET_SECONDS = env_float("AZURE_SPEECH_RETRY_BUDGET_SECONDS", 20.0)
AZURE_SPEECH_MAX_ATTEMPTS = env_int("AZURE_SPEECH_MAX_ATTEMPTS", 4)
AZURE_SPEECH_BACKOFF_BASE_SECONDS = env_float("AZURE_SPEECH_BACKOFF_BASE_SECONDS", 0.5)
AZURE_SPEECH_PROFANITY = env_str("AZURE_SPEECH_PROFANITY")
AZURE_SPEECH_CID = env_str("AZURE_SPEECH_CID")
AZURE_BREAK_CONFIDENCE_THRESHOLD = env_float("AZURE_BREAK_CONFIDENCE_THRESHOLD", 0.75)

# Empty: the static ffmpeg of the imageio-ffmpeg package (see assessments/ffmpeg.py).
FFMPEG_BINARY = env_str("FFMPEG_BINARY")
AUDIO_MAX_UPLOAD_BYTES = env_int("AUDIO_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
AUDIO_MAX_SECONDS = env_float("AUDIO_MAX_SECONDS", 30.0)
AUDIO_MIN_SECONDS = env_float("AUDIO_MIN_SECONDS", 0.3)
AUDIO_SILENCE_DBFS = env_float("AUDIO_SILENCE_DBFS", -50.0)
AUDIO_KEEP_SILENCE_MS = env_int("AUDIO_KEEP_SILENCE_MS", 300)
# Uploads larger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = AUDIO_MAX_UPLOAD_BYTES + 1024 * 1024

# An attempt queued or processing for longer than this is considered stuck and re-queued,
# at most ATTEMPT_MAX_TRIES times in all before it fails with a clear reason.
ATTEMPT_STUCK_AFTER_SECONDS = env_int("ATTEMPT_STUCK_AFTER_SECONDS", 600)
ATTEMPT_MAX_TRIES = env_int("ATTEMPT_MAX_TRIES", 3)
ATTEMPT_TASK_SOFT_TIME_LIMIT = env_int("ATTEMPT_TASK_SOFT_TIME_LIMIT", 120)
ATTEMPT_TASK_TIME_LIMIT = env_int("ATTEMPT_TASK_TIME_LIMIT", 150)

# Abuse limits (per user or per client address, over a sliding minute / quarter hour).
UPLOADS_PER_MINUTE = env_int("UPLOADS_PER_MINUTE", 10)
LOGIN_FAILURES_PER_15_MINUTES = env_int("LOGIN_FAILURES_PER_15_MINUTES", 10)
# Across all usernames from one address (a school behind one NAT shares it: keep it large).
LOGIN_FAILURES_PER_ADDRESS_PER_15_MINUTES = env_int("LOGIN_FAILURES_PER_ADDRESS_PER_15_MINUTES",
                                                    100)
# How many reverse proxies in front of the app append to X-Forwarded-For (0: none, trust
# REMOTE_ADDR). Compose behind one TLS proxy: 1.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Demo mode: `make run` loads demo users and lessons only when this is on.
DEMO_MODE = env_bool("DEMO_MODE", False)

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # urllib3 logs request URLs at DEBUG; keep it quiet so nothing sensitive leaks.
        "urllib3": {"level": "WARNING"},
    },
}


def _check_azure_configuration() -> None:
    """An Azure integration that is switched on must be complete, or start-up fails."""
    # The same rule as assessments.engines.azure_credentials_given: any credential given
    # for the chosen auth mode switches `auto` to Azure (and then it must be complete).
    if AZURE_SPEECH_AUTH == "entra":
        credential_given = bool(AZURE_SPEECH_RESOURCE_ID or AZURE_SPEECH_ENTRA_TOKEN)
    else:
        credential_given = bool(AZURE_SPEECH_KEY)
    wants_azure = ASSESSMENT_ENGINE == "azure" or (
        ASSESSMENT_ENGINE == "auto" and credential_given
    )
    if ASSESSMENT_ENGINE not in ("auto", "azure", "local"):
        raise ImproperlyConfigured("ASSESSMENT_ENGINE must be auto, azure or local.")
    if not wants_azure:
        return
    if AZURE_SPEECH_AUTH == "entra":
        if not (AZURE_SPEECH_RESOURCE_ID and AZURE_SPEECH_ENTRA_TOKEN):
            raise ImproperlyConfigured(
                "AZURE_SPEECH_AUTH=entra needs AZURE_SPEECH_RESOURCE_ID and "
                "AZURE_SPEECH_ENTRA_TOKEN."
            )
    elif not AZURE_SPEECH_KEY:
        raise ImproperlyConfigured("ASSESSMENT_ENGINE=azure needs AZURE_SPEECH_KEY.")
    if AZURE_SPEECH_AUTH not in ("key", "token", "entra"):
        raise ImproperlyConfigured("AZURE_SPEECH_AUTH must be key, token or entra.")
    if not (AZURE_SPEECH_REGION or AZURE_SPEECH_ENDPOINT):
        raise ImproperlyConfigured(
            "Azure is configured without a place to call: set AZURE_SPEECH_REGION "
            "(e.g. westeurope) or AZURE_SPEECH_ENDPOINT."
        )


_check_azure_configuration()
