"""The recording cannot be written (disk full, permissions): through the real upload view.

The service test (``tests/assessments/test_intake.py``) covers ``attempt_create`` on its
own; this one checks what the learner gets: a refusal in words, nothing stored, and the
same recording accepted once the disk has room again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assessments.models import Attempt
from assessments.services.intake import STORAGE_UNAVAILABLE_MESSAGE
from tests.faults.helpers import refusal_text, upload
from tests.support.storage import DISK_FILLS_UP

SPOKEN = "Good morning, how are you today?"
STORAGE = DISK_FILLS_UP
SUBMISSION = "6f1c2b1e-0d6a-4f1e-9a53-3c1d2e4f5a6b"  # the recorder's id for this take

pytestmark = pytest.mark.django_db


def test_disk_full_at_upload_is_a_refusal_in_words_and_the_take_can_be_resent(
    client, school, audio_factory, settings, memory_broker, django_capture_on_commit_callbacks
):
    client.force_login(school.learner)
    content = audio_factory.speech(SPOKEN).read_bytes()
    storages = settings.STORAGES
    settings.STORAGES = {**storages, "default": {"BACKEND": STORAGE}}
    response = upload(client, school.lesson, content, name="speech.wav",
                      content_type="audio/wav", submission_id=SUBMISSION)

    # The server's trouble, not the recording's: try again later.
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert STORAGE_UNAVAILABLE_MESSAGE in refusal_text(response)
    assert not Attempt.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not [path for path in media.rglob("*") if path.is_file()]
    assert memory_broker.sent() == []

    # Room again: the recorder sends the same take with the same submission id.
    settings.STORAGES = storages
    with django_capture_on_commit_callbacks(execute=True):
        again = upload(client, school.lesson, content, name="speech.wav",
                       content_type="audio/wav", submission_id=SUBMISSION)
    assert again.status_code == 202, refusal_text(again)
    assert Path(Attempt.objects.get().original_audio.path).read_bytes() == content
