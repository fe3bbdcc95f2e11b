"""Writes for attempts: create, queue, process, store, fail, re-assess, sweep.

Every change of ``Attempt.status`` goes through :func:`_transition`, which refuses moves the
lifecycle does not allow. Views and tasks stay thin and call these functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assessments.audio import audio_check_upload, audio_convert
from assessments.engines import get_engine
from assessments.engines.base import AssessmentError, AssessmentSettings
from assessments.models import Attempt, AttemptStatus, PhonemeResult, WordResult
from assessments.results import AssessmentResult, RecognitionStatus
from tutor.models import Lesson, User

logger = logging.getLogger(__name__)

S = AttemptStatus
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.QUEUED: {S.PROCESSING, S.FAILED, S.QUEUED},
    # processing → processing: a redelivered task takes over from a worker that died.
    # processing → queued: a retryable engine error, to be tried again later.
    S.PROCESSING: {S.SUCCEEDED, S.FAILED, S.QUEUED, S.PROCESSING},
    S.SUCCEEDED: {S.QUEUED},  # re-assess
    S.FAILED: {S.QUEUED},  # re-assess
}

RECOGNITION_MESSAGES = {
    RecognitionStatus.NO_MATCH: (
        "no_match",
        "We heard speech but could not match it to the text. Read the text exactly as shown, "
        "in the lesson's language, and try again.",
    ),
    RecognitionStatus.INITIAL_SILENCE_TIMEOUT: (
        "initial_silence",
        "We only heard silence at the start. Start speaking soon after you press record.",
    ),
    RecognitionStatus.BABBLE_TIMEOUT: (
        "babble",
        "We only heard background noise. Move somewhere quieter, or closer to the microphone, "
        "and try again.",
    ),
    RecognitionStatus.ERROR: (
        "service_error",
        "The scoring service had a problem. Your recording is saved; please try again soon.",
    ),
}
INTERNAL_ERROR_MESSAGE = (
    "Something went wrong while scoring your recording. It is saved, and you can try again."
)
GAVE_UP_MESSAGE = (
    "We could not score this recording after several tries. It is saved; please try again later."
)


class InvalidTransition(Exception):
    pass


@dataclass(frozen=True)
class ProcessOutcome:
    """What the task should do next: nothing, or retry after ``retry_in`` seconds."""

    status: str
    retry_in: float | None = None


def _transition(attempt: Attempt, to: str) -> None:
    if to not in ALLOWED_TRANSITIONS[attempt.status]:
        raise InvalidTransition(f"Attempt {attempt.pk}: {attempt.status} → {to} is not allowed.")
    attempt.status = to


# --- Creating and queueing ----------------------------------------------------------------


def attempt_create(
    *, learner: User, lesson: Lesson, upload: UploadedFile, content_type: str = ""
) -> Attempt:
    """Save the learner's recording, create a queued attempt, and enqueue it on commit.

    Cheap checks (empty, too large, obviously not audio) raise ``AudioRejected`` before
    anything is stored; everything else is decided by the worker, after the recording is
    safely on disk.
    """
    upload.seek(0)
    head = upload.read(64)
    upload.seek(0)
    audio_check_upload(size=upload.size or 0, head=head)
    assessment_settings = lesson.assessment_settings()
    with transaction.atomic():
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
        attempt.original_audio.save("original", upload, save=False)
        attempt.save()
        attempt_id = attempt.pk
        transaction.on_commit(lambda: attempt_enqueue(attempt_id=attempt_id))
    return attempt


def attempt_enqueue(*, attempt_id: int) -> bool:
    """Send the assessment task. A broker outage is logged, not raised: the sweep retries."""
    from assessments.tasks import assess_attempt

    try:
        assess_attempt.apply_async(
            args=[attempt_id],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:  # noqa: BLE001 - any broker failure: the attempt stays queued and saved
        logger.warning("Could not enqueue attempt %s; the sweep will retry.", attempt_id,
                       exc_info=True)
        return False
    return True


def attempt_reassess(*, attempt: Attempt) -> Attempt:
    """Queue a finished attempt again (e.g. after the engine configuration was fixed)."""
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
        _transition(attempt, S.QUEUED)
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


# --- Processing -----------------------------------------------------------------------------


def attempt_process(*, attempt_id: int) -> ProcessOutcome:
    """Convert, assess and store one attempt. Safe to run again for the same attempt."""
    attempt = _attempt_start(attempt_id=attempt_id)
    if attempt is None:
        current = Attempt.objects.filter(pk=attempt_id).values_list("status", flat=True).first()
        return ProcessOutcome(status=current or "missing")
    try:
        result = _assess(attempt)
    except AssessmentError as error:
        return _handle_assessment_error(attempt, error)
    except Exception:
        logger.exception("Attempt %s failed unexpectedly.", attempt.pk)
        attempt_fail(attempt_id=attempt.pk, code="internal_error", message=INTERNAL_ERROR_MESSAGE)
        return ProcessOutcome(status=S.FAILED)

    if result.recognition_status != RecognitionStatus.SUCCESS:
        code, message = RECOGNITION_MESSAGES.get(
            result.recognition_status, ("recognition_failed", INTERNAL_ERROR_MESSAGE)
        )
        error = AssessmentError(
            code, message, retryable=result.recognition_status == RecognitionStatus.ERROR
        )
        _store_raw(attempt, result)
        return _handle_assessment_error(attempt, error)

    attempt_store_result(attempt_id=attempt.pk, result=result)
    return ProcessOutcome(status=S.SUCCEEDED)


def _attempt_start(*, attempt_id: int) -> Attempt | None:
    """Mark the attempt processing; None when it is already finished or gone."""
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().filter(pk=attempt_id).first()
        if attempt is None or attempt.is_finished:
            return None
        _transition(attempt, S.PROCESSING)
        attempt.tries += 1
        attempt.started_at = timezone.now()
        attempt.save(update_fields=["status", "tries", "started_at"])
    return attempt


def _assess(attempt: Attempt) -> AssessmentResult:
    converted = audio_convert(source=attempt.original_audio.path)
    if attempt.converted_audio:
        attempt.converted_audio.delete(save=False)
    attempt.converted_audio.save("converted.wav", ContentFile(converted.wav), save=False)
    attempt.duration_ms = converted.duration_ms
    attempt.original_duration_ms = converted.original_duration_ms
    attempt.trimmed = converted.trimmed
    attempt.save(
        update_fields=["converted_audio", "duration_ms", "original_duration_ms", "trimmed"]
    )
    assessment_settings = AssessmentSettings.from_dict(attempt.settings_snapshot)
    engine = get_engine()
    attempt.engine = engine.name
    result = engine.assess(wav=converted.wav, settings=assessment_settings)
    result.audio_duration_ms = converted.duration_ms
    result.trimmed = converted.trimmed
    result.fill_pronunciation()
    return result


def _handle_assessment_error(attempt: Attempt, error: AssessmentError) -> ProcessOutcome:
    logger.warning("Attempt %s: %s (retryable=%s)", attempt.pk, error, error.retryable)
    if error.retryable and attempt.tries < settings.ATTEMPT_MAX_TRIES:
        delay = error.retry_after or min(300.0, 5.0 * 2 ** (attempt.tries - 1))
        with transaction.atomic():
            locked = Attempt.objects.select_for_update().get(pk=attempt.pk)
            _transition(locked, S.QUEUED)
            locked.queued_at = timezone.now()
            locked.failure_code = error.code
            locked.engine = attempt.engine
            locked.save(update_fields=["status", "queued_at", "failure_code", "engine"])
        return ProcessOutcome(status=S.QUEUED, retry_in=delay)
    attempt_fail(
        attempt_id=attempt.pk,
        code=error.code,
        message=error.learner_message,
        engine=attempt.engine,
    )
    return ProcessOutcome(status=S.FAILED)


def _store_raw(attempt: Attempt, result: AssessmentResult) -> None:
    Attempt.objects.filter(pk=attempt.pk).update(
        raw_response=result.to_dict(),
        recognition_status=result.recognition_status,
        connection_id=result.connection_id,
    )


def attempt_store_result(*, attempt_id: int, result: AssessmentResult) -> Attempt:
    """Replace the attempt's result rows with ``result`` and mark it succeeded, atomically."""
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
        _transition(attempt, S.SUCCEEDED)
        attempt.words.all().delete()  # a rerun replaces rows, never duplicates them
        words = WordResult.objects.bulk_create(
            [
                WordResult(
                    attempt=attempt,
                    order=index,
                    word=word.word[:100],
                    accuracy=word.accuracy,
                    error_type=word.error_type,
                    offset_ms=word.offset_ms,
                    duration_ms=word.duration_ms,
                    unexpected_break=bool(word.prosody and word.prosody.unexpected_break),
                    missing_break=bool(word.prosody and word.prosody.missing_break),
                    monotone=bool(word.prosody and word.prosody.monotone),
                    prosody_feedback=_asdict_or_none(word.prosody),
                    syllables=[_asdict_or_none(s) for s in word.syllables],
                )
                for index, word in enumerate(result.words)
            ]
        )
        PhonemeResult.objects.bulk_create(
            [
                PhonemeResult(
                    attempt=attempt,
                    word=row,
                    order=index,
                    phoneme=phoneme.phoneme[:16],
                    accuracy=phoneme.accuracy,
                    offset_ms=phoneme.offset_ms,
                    duration_ms=phoneme.duration_ms,
                    heard=(phoneme.heard or "")[:16],
                )
                for row, word in zip(words, result.words, strict=True)
                for index, phoneme in enumerate(word.phonemes)
            ]
        )
        for name, value in result.scores().items():
            setattr(attempt, name, value)
        attempt.engine = result.engine
        attempt.recognition_status = result.recognition_status
        attempt.recognized_text = result.recognized_text
        attempt.connection_id = result.connection_id
        attempt.grading_system = result.grading_system
        attempt.raw_response = result.to_dict()
        attempt.failure_code = ""
        attempt.failure_message = ""
        attempt.finished_at = timezone.now()
        attempt.save()
    return attempt


def _asdict_or_none(value: object) -> dict | None:
    from dataclasses import asdict

    return asdict(value) if value is not None else None


def attempt_fail(*, attempt_id: int, code: str, message: str, engine: str = "") -> Attempt:
    """End the attempt as failed with a reason the learner understands. The audio is kept."""
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.is_finished:
            return attempt
        _transition(attempt, S.FAILED)
        attempt.failure_code = code[:64]
        attempt.failure_message = message
        if engine:
            attempt.engine = engine
        attempt.finished_at = timezone.now()
        attempt.save()
    return attempt


# --- Sweeping -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]
    failed: list[int]


def attempts_requeue_stuck(*, older_than: timedelta | None = None) -> SweepReport:
    """Re-queue attempts stuck in queued/processing; fail those out of tries.

    Covers a broker that was down at upload time, a worker killed mid-task, and a message
    lost by the embedded broker.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.ATTEMPT_STUCK_AFTER_SECONDS)
    cutoff = timezone.now() - older_than
    stuck_ids = Attempt.objects.filter(
        Q(status=S.QUEUED, queued_at__lt=cutoff) | Q(status=S.PROCESSING, started_at__lt=cutoff)
    ).values_list("pk", flat=True)
    requeued: list[int] = []
    failed: list[int] = []
    for attempt_id in sorted(stuck_ids):
        with transaction.atomic():
            attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
            if attempt.is_finished:
                continue
            if attempt.tries >= settings.ATTEMPT_MAX_TRIES:
                _transition(attempt, S.FAILED)
                attempt.failure_code = attempt.failure_code or "gave_up"
                attempt.failure_message = GAVE_UP_MESSAGE
                attempt.finished_at = timezone.now()
                attempt.save()
                failed.append(attempt_id)
                continue
            _transition(attempt, S.QUEUED)
            attempt.queued_at = timezone.now()
            attempt.save(update_fields=["status", "queued_at"])
            transaction.on_commit(lambda pk=attempt_id: attempt_enqueue(attempt_id=pk))
            requeued.append(attempt_id)
    return SweepReport(requeued=requeued, failed=failed)
