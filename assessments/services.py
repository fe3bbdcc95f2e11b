"""Writes for attempts: create, queue, process, store, fail, re-assess, sweep.

Every change of ``Attempt.status`` goes through :func:`_transition`, which refuses moves the
lifecycle does not allow. Views and tasks stay thin and call these functions. The lifecycle,
its failure handling and the reasoning behind the numbers are in ``docs/lifecycle.md``.

Two rules keep an attempt from being lost or stored twice:

* ``started_at`` is the claim of the run that set it. A run stores its outcome only while
  the row still carries its own ``started_at``; a run that was taken over (its worker was
  presumed dead, or the attempt was re-assessed) discards what it computed.
* ``tries`` counts the chances an attempt has used: each time a worker starts it, plus each
  time the sweep finds its message lost. Nothing starts once ``ATTEMPT_MAX_TRIES`` is used
  up, so a recording that kills its worker cannot loop forever.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
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
    # queued → queued: the sweep sends a lost message again.
    # queued → failed: out of tries, or a worker found nothing left to try.
    S.QUEUED: {S.PROCESSING, S.FAILED, S.QUEUED},
    # processing → processing: a redelivered task takes over from a worker that died.
    # processing → queued: a retryable engine error, or the sweep after a dead worker.
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
TOOK_TOO_LONG_MESSAGE = (
    "Scoring your recording took too long. It is saved; please try again in a moment."
)


class InvalidTransition(Exception):
    pass


class AttemptSuperseded(Exception):
    """This run no longer owns the attempt: another run took it over, or it was re-queued."""


@dataclass(frozen=True)
class ProcessOutcome:
    """What the task should do next: nothing, or retry after ``retry_in`` seconds.

    ``status`` is the attempt's status afterwards, or ``skipped`` when this run did nothing
    (the attempt was finished, gone, or owned by another run).
    """

    status: str
    retry_in: float | None = None


SKIPPED = "skipped"


def _transition(attempt: Attempt, to: str) -> None:
    if to not in ALLOWED_TRANSITIONS[attempt.status]:
        raise InvalidTransition(f"Attempt {attempt.pk}: {attempt.status} → {to} is not allowed.")
    attempt.status = to


def _lock(attempt_id: int, *, claim: datetime | None = None) -> Attempt:
    """The attempt, row-locked until the transaction ends; checks the run's claim if given."""
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if claim is not None and (attempt.status != S.PROCESSING or attempt.started_at != claim):
        raise AttemptSuperseded(f"Attempt {attempt_id} is no longer owned by this run.")
    return attempt


# --- Creating and queueing ----------------------------------------------------------------


def attempt_create(
    *, learner: User, lesson: Lesson, upload: UploadedFile, content_type: str = ""
) -> Attempt:
    """Save the learner's recording, create a queued attempt, and enqueue it on commit.

    Cheap checks (empty, too large, obviously not audio) raise ``AudioRejected`` before
    anything is stored; everything else is decided by the worker, after the recording is
    safely on disk. Never waits on the broker for long: see :func:`attempt_enqueue`.
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
    """Send the assessment task; False (never an exception) when the broker is unreachable.

    The publish is retried once, quickly, and the broker connect timeout is short (see the
    Celery settings), so an upload answers within seconds even with the broker down. An
    attempt that could not be sent keeps ``queued_at`` empty, which the sweep treats as
    "send now" rather than waiting for the stuck timeout.
    """
    from assessments.tasks import assess_attempt

    try:
        assess_attempt.apply_async(
            args=[attempt_id],
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.5},
        )
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
        attempt = _lock(attempt.pk)
        if not attempt.is_finished:
            raise InvalidTransition(
                f"Attempt {attempt.pk} is {attempt.status}; only finished attempts are re-assessed."
            )
        _transition(attempt, S.QUEUED)
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


# --- Processing -----------------------------------------------------------------------------


def attempt_process(*, attempt_id: int) -> ProcessOutcome:
    """Convert, assess and store one attempt. Safe to run again for the same attempt."""
    attempt = _attempt_start(attempt_id=attempt_id)
    if attempt is None:
        return ProcessOutcome(status=SKIPPED)
    claim = attempt.started_at
    timings: dict[str, float] = {}
    try:
        try:
            result = _assess(attempt, timings=timings)
        except AssessmentError as error:
            return _handle_assessment_error(attempt, error, claim=claim)
        except SoftTimeLimitExceeded:
            error = AssessmentError(
                "timeout", TOOK_TOO_LONG_MESSAGE, operator_message="Soft time limit hit.",
                retryable=True,
            )
            return _handle_assessment_error(attempt, error, claim=claim)
        except Exception:
            logger.exception("Attempt %s failed unexpectedly.", attempt.pk)
            attempt_fail(
                attempt_id=attempt.pk, code="internal_error", message=INTERNAL_ERROR_MESSAGE,
                engine=attempt.engine, claim=claim,
            )
            return ProcessOutcome(status=S.FAILED)

        if result.recognition_status != RecognitionStatus.SUCCESS:
            code, message = RECOGNITION_MESSAGES.get(
                result.recognition_status, ("recognition_failed", INTERNAL_ERROR_MESSAGE)
            )
            error = AssessmentError(
                code, message, retryable=result.recognition_status == RecognitionStatus.ERROR
            )
            return _handle_assessment_error(attempt, error, claim=claim, result=result)

        started = time.perf_counter()
        attempt_store_result(attempt_id=attempt.pk, result=result, claim=claim)
        timings["store"] = time.perf_counter() - started
    except AttemptSuperseded:
        logger.info("Attempt %s was taken over by another run; this run's outcome is dropped.",
                    attempt_id)
        return ProcessOutcome(status=SKIPPED)
    # One line per attempt: where the time went (the benchmarks read it too).
    logger.info(
        "Attempt %s succeeded with %s: convert %.0f ms, engine %.0f ms, store %.0f ms",
        attempt_id, result.engine, timings.get("convert", 0) * 1000,
        timings.get("engine", 0) * 1000, timings.get("store", 0) * 1000,
    )
    return ProcessOutcome(status=S.SUCCEEDED)


def _attempt_start(*, attempt_id: int) -> Attempt | None:
    """Claim the attempt for this run; None when there is nothing for it to do."""
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().filter(pk=attempt_id).first()
        if attempt is None or attempt.is_finished:
            return None
        if attempt.tries >= settings.ATTEMPT_MAX_TRIES:
            # Typically a recording whose processing killed the worker every time.
            _give_up(attempt)
            return None
        _transition(attempt, S.PROCESSING)
        attempt.tries += 1
        attempt.started_at = timezone.now()
        attempt.save(update_fields=["status", "tries", "started_at"])
    return attempt


def _give_up(attempt: Attempt) -> None:
    """Fail a row-locked attempt that used up its tries."""
    logger.warning("Attempt %s gave up after %s tries.", attempt.pk, attempt.tries)
    _transition(attempt, S.FAILED)
    attempt.failure_code = "gave_up"
    attempt.failure_message = GAVE_UP_MESSAGE
    attempt.finished_at = timezone.now()
    attempt.save(
        update_fields=["status", "tries", "failure_code", "failure_message", "finished_at"]
    )


def _assess(attempt: Attempt, *, timings: dict[str, float]) -> AssessmentResult:
    started = time.perf_counter()
    converted = audio_convert(source=attempt.original_audio.path)
    if attempt.converted_audio:
        attempt.converted_audio.delete(save=False)
    attempt.converted_audio.save("converted.wav", ContentFile(converted.wav), save=False)
    attempt.duration_ms = converted.duration_ms
    attempt.original_duration_ms = converted.original_duration_ms
    attempt.trimmed = converted.trimmed
    Attempt.objects.filter(pk=attempt.pk).update(
        converted_audio=attempt.converted_audio.name,
        duration_ms=converted.duration_ms,
        original_duration_ms=converted.original_duration_ms,
        trimmed=converted.trimmed,
    )
    timings["convert"] = time.perf_counter() - started
    assessment_settings = AssessmentSettings.from_dict(attempt.settings_snapshot)
    engine = get_engine()
    attempt.engine = engine.name
    started = time.perf_counter()
    result = engine.assess(wav=converted.wav, settings=assessment_settings)
    timings["engine"] = time.perf_counter() - started
    result.audio_duration_ms = converted.duration_ms
    result.trimmed = converted.trimmed
    result.fill_pronunciation()
    return result


def _retry_delay(*, tries: int, retry_after: float | None) -> float:
    """Exponential backoff (5, 10, 20 … s), or the server's hint, capped.

    The cap stays below the stuck timeout so the sweep never mistakes a waiting retry for a
    lost message, and below the Redis visibility timeout so the retry is not delivered twice.
    """
    cap = min(300.0, settings.ATTEMPT_STUCK_AFTER_SECONDS / 2)
    wanted = retry_after if retry_after else 5.0 * 2 ** max(tries - 1, 0)
    return max(0.0, min(cap, float(wanted)))


def _handle_assessment_error(
    attempt: Attempt,
    error: AssessmentError,
    *,
    claim: datetime | None,
    result: AssessmentResult | None = None,
) -> ProcessOutcome:
    logger.warning("Attempt %s: %s (retryable=%s)", attempt.pk, error, error.retryable)
    if error.retryable and attempt.tries < settings.ATTEMPT_MAX_TRIES:
        with transaction.atomic():
            locked = _lock(attempt.pk, claim=claim)
            _transition(locked, S.QUEUED)
            locked.queued_at = timezone.now()
            locked.failure_code = error.code[:64]  # the last reason, for the admin
            locked.engine = attempt.engine
            locked.save(update_fields=["status", "queued_at", "failure_code", "engine"])
        return ProcessOutcome(
            status=S.QUEUED,
            retry_in=_retry_delay(tries=attempt.tries, retry_after=error.retry_after),
        )
    # A retryable error's own message promises another try; out of tries, say so plainly.
    message = GAVE_UP_MESSAGE if error.retryable else error.learner_message
    attempt_fail(
        attempt_id=attempt.pk,
        code=error.code,
        message=message,
        engine=attempt.engine,
        claim=claim,
        result=result,
    )
    return ProcessOutcome(status=S.FAILED)


def attempt_store_result(
    *, attempt_id: int, result: AssessmentResult, claim: datetime | None = None
) -> Attempt:
    """Replace the attempt's result rows with ``result`` and mark it succeeded, atomically.

    ``claim`` is the ``started_at`` of the run storing it; when given and no longer on the
    row, :class:`AttemptSuperseded` is raised and nothing is written.
    """
    with transaction.atomic():
        attempt = _lock(attempt_id, claim=claim)
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
        attempt.connection_id = result.connection_id[:32]
        attempt.grading_system = result.grading_system
        attempt.raw_response = result.to_dict()
        attempt.failure_code = ""
        attempt.failure_message = ""
        attempt.finished_at = timezone.now()
        attempt.save()
    return attempt


def _asdict_or_none(value: object) -> dict | None:
    return asdict(value) if value is not None else None


def attempt_fail(
    *,
    attempt_id: int,
    code: str,
    message: str,
    engine: str = "",
    claim: datetime | None = None,
    result: AssessmentResult | None = None,
) -> Attempt:
    """End the attempt as failed with a reason the learner understands. The audio is kept.

    A finished attempt is left as it is. ``result`` (an unsuccessful recognition) is kept as
    the raw response for the admin; ``claim`` works as in :func:`attempt_store_result`.
    """
    with transaction.atomic():
        attempt = _lock(attempt_id, claim=claim)
        if attempt.is_finished:
            return attempt
        _transition(attempt, S.FAILED)
        attempt.failure_code = code[:64]
        attempt.failure_message = message
        if engine:
            attempt.engine = engine
        if result is not None:
            attempt.raw_response = result.to_dict()
            attempt.recognition_status = result.recognition_status
            attempt.recognized_text = result.recognized_text
            attempt.connection_id = result.connection_id[:32]
        attempt.finished_at = timezone.now()
        attempt.save()
    return attempt


# --- Sweeping -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]
    failed: list[int]


def attempts_requeue_stuck(*, older_than: timedelta | None = None) -> SweepReport:
    """Send again attempts whose message was never sent or got lost; fail those out of tries.

    Picks up:

    * queued attempts that were never sent (broker down at upload: ``queued_at`` empty),
      at once, without using a try;
    * queued attempts sent more than ``older_than`` ago (a message the broker lost), using a
      try;
    * processing attempts started more than ``older_than`` ago (their worker died; the start
      already used a try).

    ``older_than`` defaults to ``ATTEMPT_STUCK_AFTER_SECONDS``; for processing attempts the
    default is never shorter than the task's hard time limit, so a live run is not taken over.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.ATTEMPT_STUCK_AFTER_SECONDS)
        processing_after = max(
            older_than, timedelta(seconds=settings.ATTEMPT_TASK_TIME_LIMIT + 30)
        )
    else:
        processing_after = older_than
    now = timezone.now()
    stuck_ids = Attempt.objects.filter(
        Q(status=S.QUEUED, queued_at__isnull=True)
        | Q(status=S.QUEUED, queued_at__lt=now - older_than)
        | Q(status=S.PROCESSING, started_at__lt=now - processing_after)
    ).values_list("pk", flat=True)
    requeued: list[int] = []
    failed: list[int] = []
    for attempt_id in sorted(stuck_ids):
        with transaction.atomic():
            attempt = _lock(attempt_id)
            if attempt.is_finished:
                continue
            if attempt.status == S.QUEUED and attempt.queued_at is not None:
                attempt.tries += 1  # its message was lost: that chance is used up
            if attempt.tries >= settings.ATTEMPT_MAX_TRIES:
                _give_up(attempt)
                failed.append(attempt_id)
                continue
            _transition(attempt, S.QUEUED)
            attempt.queued_at = timezone.now()
            attempt.save(update_fields=["status", "queued_at", "tries"])
            transaction.on_commit(lambda pk=attempt_id: attempt_enqueue(attempt_id=pk))
            requeued.append(attempt_id)
    if requeued or failed:
        logger.info("Sweep: re-queued %s, failed %s", requeued, failed)
    return SweepReport(requeued=requeued, failed=failed)
