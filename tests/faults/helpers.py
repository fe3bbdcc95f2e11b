"""Uploading through the real view and running the real task, as a learner's request would."""

from __future__ import annotations

import html
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from assessments.models import Attempt, AttemptStatus
from assessments.tasks import assess_attempt

HTMX = {"HTTP_HX_REQUEST": "true"}


def upload(
    client: Client,
    lesson,
    content: bytes | Path,
    *,
    name: str = "recording.webm",
    content_type: str = "audio/webm",
    field: str = "audio",
    htmx: bool = True,
    **data: str,
):
    """POST one file to ``attempt-upload`` like the recorder script (htmx) or the plain form."""
    if isinstance(content, Path):
        content = content.read_bytes()
    payload = {field: SimpleUploadedFile(name, content, content_type=content_type), **data}
    headers = HTMX if htmx else {}
    return client.post(reverse("attempt-upload", args=[lesson.pk]), payload, **headers)


def run_task(attempt: Attempt) -> Attempt:
    """Run the real Celery task in this process; Celery re-runs it at once when it retries."""
    assess_attempt.apply(args=[attempt.pk])
    attempt.refresh_from_db()
    return attempt


def assert_finished_cleanly(attempt: Attempt, *, original: bytes | None = None) -> None:
    """The attempt ended, a failure says why in words, and the recording is still there."""
    assert attempt.status in (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED), attempt.status
    if attempt.status == AttemptStatus.FAILED:
        assert attempt.failure_code
        # An unexpected exception is not a way of handling an input, even if it is caught.
        assert attempt.failure_code != "internal_error", attempt.failure_message
        assert len(attempt.failure_message) > 20, attempt.failure_message
        assert "Traceback" not in attempt.failure_message
    path = Path(attempt.original_audio.path)
    assert path.exists(), "the recording was lost"
    if original is not None:
        assert path.read_bytes() == original


def refusal_text(response) -> str:
    """The response body as text, HTML entities decoded (``couldn&#x27;t`` → ``couldn't``)."""
    return html.unescape(response.content.decode("utf-8", "replace"))
