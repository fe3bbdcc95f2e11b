"""The shared cache (Redis in production) is down: signing in and uploading still work.

The cache only holds guards — sign-in and upload limits, duplicate-submit tokens — so the
product goes on without them (and logs it) instead of answering with a server error. The
cache here is a real Redis client pointed at a loopback port nothing listens on.
"""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.cache import caches
from django.urls import reverse

from assessments.models import Attempt
from tests.factories import PASSWORD
from tests.faults.helpers import refusal_text, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    with pytest.raises(Exception):  # noqa: B017 - proves the cache really is unreachable
        caches["default"].get("anything")
    return port


def test_sign_in_works_without_the_cache(client, school, cache_down, caplog):
    with caplog.at_level(logging.ERROR, logger="tutor.counters"):
        response = client.post(reverse("login"),
                               {"username": "learner", "password": PASSWORD})
    assert response.status_code == 302
    assert "Cache unavailable in login_attempt_begin" in caplog.text


def test_upload_works_without_the_cache(client, school, audio_factory, cache_down,
                                        django_capture_on_commit_callbacks, caplog):
    client.force_login(school.learner)
    content = audio_factory.speech("Good morning, how are you today?").read_bytes()
    with caplog.at_level(logging.ERROR, logger="tutor.counters"), \
            django_capture_on_commit_callbacks(execute=True):
        response = upload(client, school.lesson, content, name="speech.wav",
                          content_type="audio/wav",
                          submission_id="6f1c3c7e-8a8e-4d39-9d8e-0d6f7c1b2a11")
    assert response.status_code == 202, refusal_text(response)
    assert Attempt.objects.filter(learner=school.learner).count() == 1
    assert "Cache unavailable in submission_claim" in caplog.text
    assert "Cache unavailable in upload_rate_exceeded" in caplog.text
