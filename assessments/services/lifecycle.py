"""The attempt state machine: statuses, allowed moves, learner messages, failing.

Every change of ``Attempt.status`` goes through :func:`transition`, which refuses moves the
lifecycle does not allow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from assessments.engines.base import RECOGNITION_FAILURES
from assessments.models import Attempt, AttemptStatus
from assessments.results import AssessmentResult

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

# Learner messages per recognition status: the one table, shared with the engines.
RECOGNITION_MESSAGES = RECOGNITION_FAILURES
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


def transition(attempt: Attempt, to: str) -> None:
    """Move ``attempt`` to status ``to``, or raise :class:`InvalidTransition`."""
    if to not in ALLOWED_TRANSITIONS[attempt.status]:
        raise InvalidTransition(f"Attempt {attempt.pk}: {attempt.status} → {to} is not allowed.")
    attempt.status = to


def lock_attempt(attempt_id: int, *, claim: datetime | None = None) -> Attempt:
    """The attempt, row-locked until the transaction ends; checks the run's claim if given."""
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if claim is not None and (attempt.status != S.PROCESSING or attempt.started_at != claim):
        raise AttemptSuperseded(f"Attempt {attempt_id} is no longer owned by this run.")
    return attempt


def attempt_give_up(attempt: Attempt) -> None:
    """Fail a row-locked attempt that used up its tries."""
    logger.warning("Attempt %s gave up after %s tries.", attempt.pk, attempt.tries)
    transition(attempt, S.FAILED)
    # The code becomes "gave_up": keep the last try's reason for the operator.
    detail = f"Out of tries ({attempt.tries})."
    if attempt.failure_code:
        detail += f" Last failure: [{attempt.failure_code}] {attempt.failure_detail}".rstrip()
    attempt.failure_detail = detail
    attempt.failure_code = "gave_up"
    attempt.failure_message = GAVE_UP_MESSAGE
    attempt.finished_at = timezone.now()
    attempt.save(
        update_fields=[
            "status", "tries", "failure_code", "failure_message", "failure_detail", "finished_at",
        ]
    )


def attempt_fail(
    *,
    attempt_id: int,
    code: str,
    message: str,
    detail: str = "",
    connection_id: str = "",
    engine: str = "",
    claim: datetime | None = None,
    result: AssessmentResult | None = None,
) -> Attempt:
    """End the attempt as failed with a reason the learner understands. The audio is kept.

    ``message`` is shown to the learner; ``detail`` (the operator message) and
    ``connection_id`` (the last request's support id) only to staff. A finished attempt is
    left as it is. ``result`` (an unsuccessful recognition) is kept as the raw response for
    the admin; ``claim`` works as in :func:`attempt_store_result`.
    """
    with transaction.atomic():
        attempt = lock_attempt(attempt_id, claim=claim)
        if attempt.is_finished:
            return attempt
        transition(attempt, S.FAILED)
        attempt.failure_code = code[:64]
        attempt.failure_message = message
        attempt.failure_detail = detail
        if engine:
            attempt.engine = engine
        if result is not None:
            attempt.raw_response = result.to_dict()
            attempt.recognition_status = result.recognition_status
            attempt.recognized_text = result.recognized_text
            connection_id = connection_id or result.connection_id
        if connection_id:
            attempt.connection_id = connection_id[:32]
        attempt.finished_at = timezone.now()
        attempt.save()
    return attempt
