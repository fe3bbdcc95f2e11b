# One image for both roles: `web` (gunicorn) and `worker` (celery). ffmpeg converts uploads.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=tutor.settings_production \
    DEBUG=false \
    TUTOR_VAR_DIR=/var/lib/tutor

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 tutor \
    && mkdir -p /var/lib/tutor/media \
    && chown -R tutor:tutor /var/lib/tutor

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY tutor/__init__.py tutor/__init__.py
COPY assessments/__init__.py assessments/__init__.py
RUN pip install --upgrade pip && pip install .
COPY . .
RUN pip install --no-deps . \
    && SECRET_KEY=build-only-not-secret-0123456789abcdefghijklmnop \
       python manage.py collectstatic --noinput

USER tutor
EXPOSE 8000
CMD ["gunicorn", "tutor.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--timeout", "60", "--access-logfile", "-"]
