"""The broker is down when a learner sends a recording: through the real upload view.

The service test (``tests/assessments/test_services.py``) covers ``attempt_enqueue`` on its
own; this one checks what the learner sees. The upload is taken (202, the polling panel),
the recording is on disk, and the attempt waits as queued with ``queued_at`` empty, which
the sweep reads as "never sent: send now". The answer must not wait on the broker.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from django.urls import reverse

from assessments.models import Attempt, AttemptStatus
from tests.faults.helpers import refusal_text, upload
from tutor.celery import app as celery_app

SPOKEN = "Good morning, how are you today?"
# Connection refused on loopback is immediate and the publish is one try (measured: under
# 0.1 s); this bound leaves room for a loaded machine, far under what feels like a hang.
ANSWER_WITHIN_SECONDS = 3.0

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(settings, memory_broker, closed_port):
    """Publish to a Redis URL on a closed port, as a real (not eager) send would."""
    url = f"redis://127.0.0.1:{closed_port}/0"
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The Celery app read its configuration once, at start-up: change it there too.
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with memory_broker.unreachable(url):
            yield memory_broker
    finally:
        celery_app.conf.task_always_eager = eager
    assert memory_broker.sent() == []  # nothing went anywhere else either


def test_upload_with_the_broker_down_is_accepted_and_left_for_the_sweep(
    client, school, audio_factory, broker_down, django_capture_on_commit_callbacks, caplog
):
    client.force_login(school.learner)
    content = audio_factory.speech(SPOKEN).read_bytes()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="assessments.services.intake"), \
            django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(client, school.lesson, content, name="speech.wav",
                          content_type="audio/wav")
    elapsed = time.monotonic() - started

    assert response.status_code == 202, refusal_text(response)
    assert elapsed < ANSWER_WITHIN_SECONDS, f"the upload waited {elapsed:.1f} s on the broker"
    assert len(callbacks) == 1  # the enqueue, run on commit

    attempt = Attempt.objects.get()
    html = refusal_text(response)
    assert 'id="attempt-panel"' in html
    assert f'hx-get="{reverse("attempt-status", args=[attempt.public_id])}?seen=queued"' in html
    assert "Waiting to be scored" in html
    assert "upload-error" not in html

    assert attempt.status == AttemptStatus.QUEUED
    assert attempt.queued_at is None  # never sent: the sweep sends it at once
    assert Path(attempt.original_audio.path).read_bytes() == content
    assert "Could not enqueue attempt" in caplog.text
