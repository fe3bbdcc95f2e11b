"""Processing one attempt: convert, assess with the configured engine, store the rows."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from assessments.audio import audio_convert
from assessments.engines import get_engine
from assessments.engines.base import AssessmentError, AssessmentSettings, NotRecognised
from assessments.models import Attempt, PhonemeResult, WordResult
from assessments.results import AssessmentResult
from assessments.services.lifecycle import (
    GAVE_UP_MESSAGE,
    INTERNAL_ERROR_MESSAGE,
    SKIPPED,
    TOOK_TOO_LONG_MESSAGE,
    AttemptSuperseded,
    ProcessOutcome,
    S,
    attempt_fail,
    attempt_give_up,
    lock_attempt,
    transition,
)

logger = logging.getLogger(__name__)


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
        except Exception as crash:
            logger.exception("Attempt %s failed unexpectedly.", attempt.pk)
            # The exception's text could quote anything (even a credential): name it only;
            # the traceback is in the worker log.
            attempt_fail(
                attempt_id=attempt.pk, code="internal_error", message=INTERNAL_ERROR_MESSAGE,
                detail=f"Unexpected {type(crash).__name__}; see the worker log for the traceback.",
                engine=attempt.engine, claim=claim,
            )
            return ProcessOutcome(status=S.FAILED)

        if not result.succeeded:
            # NoMatch, silence, noise (or Error): the same path for every engine.
            error = NotRecognised(result)
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
            attempt_give_up(attempt)
            return None
        transition(attempt, S.PROCESSING)
        attempt.tries += 1
        attempt.started_at = timezone.now()
        attempt.save(update_fields=["status", "tries", "started_at"])
    return attempt


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
            locked = lock_attempt(attempt.pk, claim=claim)
            transition(locked, S.QUEUED)
            locked.queued_at = timezone.now()
            # The last reason and support id, for the admin; the learner sees only "queued".
            locked.failure_code = error.code[:64]
            locked.failure_detail = error.operator_message
            locked.connection_id = error.connection_id[:32]
            locked.engine = attempt.engine
            locked.save(
                update_fields=[
                    "status", "queued_at", "failure_code", "failure_detail", "connection_id",
                    "engine",
                ]
            )
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
        detail=error.operator_message,
        connection_id=error.connection_id,
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
        attempt = lock_attempt(attempt_id, claim=claim)
        transition(attempt, S.SUCCEEDED)
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
        attempt.failure_detail = ""
        attempt.finished_at = timezone.now()
        attempt.save()
    return attempt


def _asdict_or_none(value: object) -> dict | None:
    return asdict(value) if value is not None else None
