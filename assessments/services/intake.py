"""Creating attempts, sending them to the worker, and re-assessing finished ones."""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from assessments.audio import audio_check_upload
from assessments.engines.base import AssessmentError
from assessments.models import Attempt
from assessments.services.lifecycle import InvalidTransition, S, lock_attempt, transition
from tutor.models import Lesson, User

logger = logging.getLogger(__name__)

STORAGE_UNAVAILABLE_MESSAGE = (
    "Your recording could not be saved just now. It is still here: send it again in a minute."
)


class StorageUnavailable(AssessmentError):
    """The recording could not be written (disk full, permissions…); nothing was kept."""

    def __init__(self, *, operator_message: str = "") -> None:
        super().__init__(
            "storage_unavailable", STORAGE_UNAVAILABLE_MESSAGE,
            operator_message=operator_message, retryable=True,
        )


def attempt_create(
    *, learner: User, lesson: Lesson, upload: UploadedFile, content_type: str = ""
) -> Attempt:
    """Save the learner's recording, create a queued attempt, and enqueue it on commit.

    Cheap checks (empty, too large, obviously not audio) raise ``AudioRejected`` before
    anything is stored; everything else is decided by the worker, after the recording is
    safely on disk. A recording that cannot be written raises :class:`StorageUnavailable`
    and leaves neither a file nor a row. Never waits on the broker for long: see
    :func:`attempt_enqueue`.
    """
    upload.seek(0)
    head = upload.read(64)
    upload.seek(0)
    audio_check_upload(size=upload.size or 0, head=head)
    assessment_settings = lesson.assessment_settings()
    attempt = Attempt(
        learner=learner,
        lesson=lesson,
        reference_text=assessment_settings.reference_text,
        settings_snapshot=assessment_settings.to_dict(),
        grading_system=assessment_settings.grading_system,
        original_content_type=(content_type or upload.content_type or "")[:100],
        original_size=upload.size or 0,
        status=S.QUEUED,
        queued_at=timezone.now(),
    )
    _recording_save(attempt=attempt, upload=upload)
    try:
        with transaction.atomic():
            attempt.save()
            attempt_id = attempt.pk
            transaction.on_commit(lambda: attempt_enqueue(attempt_id=attempt_id))
    except BaseException:
        # No row points at the recording: nothing would ever show or remove it.
        with contextlib.suppress(OSError):
            attempt.original_audio.delete(save=False)
        raise
    return attempt


def _recording_save(*, attempt: Attempt, upload: UploadedFile) -> None:
    """Write the original recording, or raise StorageUnavailable with nothing left behind."""
    try:
        attempt.original_audio.save("original", upload, save=False)
    except OSError as error:
        logger.error("Could not save a recording for user %s.", attempt.learner_id,
                     exc_info=True)
        _recording_remove_partial(attempt)
        raise StorageUnavailable(
            operator_message=f"Saving the recording failed: {error.strerror or error!r}."
        ) from error


def _recording_remove_partial(attempt: Attempt) -> None:
    # A write that failed half-way (disk full) leaves the file it began, under the name the
    # field generates: the folder is the attempt's own (its public id), so nothing else is
    # there. Best effort: the storage may be failing in the same way.
    storage = attempt.original_audio.storage
    name = attempt.original_audio.field.generate_filename(attempt, "original")
    with contextlib.suppress(OSError):
        storage.delete(name)
    with contextlib.suppress(OSError, NotImplementedError):
        os.rmdir(storage.path(posixpath.dirname(name)))
    attempt.original_audio.name = None


def attempt_enqueue(*, attempt_id: int) -> bool:
    """Send the assessment task; False (never an exception) when the broker is unreachable.

    One try, no retry: the upload answers at once, within the broker's connect timeout
    (short: see the Celery settings). A pooled connection that went stale when the broker
    restarted is reconnected by the Redis client itself, so one try is enough when the broker
    is up. An attempt that could not be sent keeps ``queued_at`` empty, which the sweep
    treats as "send now" rather than waiting for the stuck timeout.
    """
    from assessments.tasks import assess_attempt

    try:
        assess_attempt.apply_async(args=[attempt_id], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the attempt stays queued and saved
        logger.warning(
            "Could not enqueue attempt %s; the sweep will send it.", attempt_id, exc_info=True
        )
        Attempt.objects.filter(pk=attempt_id, status=S.QUEUED).update(queued_at=None)
        return False
    return True


def attempt_reassess(*, attempt: Attempt) -> Attempt:
    """Queue a finished attempt again (e.g. after the engine configuration was fixed).

    Its stored results are removed; the recording is kept and assessed with the settings
    snapshot taken at upload. Refuses attempts that are still queued or processing.
    """
    with transaction.atomic():
        attempt = lock_attempt(attempt.pk)
        if not attempt.is_finished:
            raise InvalidTransition(
                f"Attempt {attempt.pk} is {attempt.status}; only finished attempts are re-assessed."
            )
        transition(attempt, S.QUEUED)
        attempt.words.all().delete()  # phonemes go with their words
        for name in ("accuracy", "fluency", "completeness", "prosody", "pronunciation"):
            setattr(attempt, name, None)
        attempt.raw_response = None
        attempt.recognition_status = ""
        attempt.recognized_text = ""
        attempt.connection_id = ""
        attempt.tries = 0
        attempt.failure_code = ""
        attempt.failure_message = ""
        attempt.queued_at = timezone.now()
        attempt.started_at = None
        attempt.finished_at = None
        attempt.save()
        attempt_id = attempt.pk
        transaction.on_commit(lambda: attempt_enqueue(attempt_id=attempt_id))
    return attempt
