"""Celery tasks: take an id, call a service, retry when the service says so."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from assessments import services

logger = logging.getLogger(__name__)

TOOK_TOO_LONG_MESSAGE = (
    "Scoring your recording took too long. It is saved; please try again in a moment."
)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.ATTEMPT_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.ATTEMPT_TASK_TIME_LIMIT,
    max_retries=None,  # the attempt's own `tries` counter bounds retries
)
def assess_attempt(self, attempt_id: int) -> str:
    try:
        outcome = services.attempt_process(attempt_id=attempt_id)
    except SoftTimeLimitExceeded:
        services.attempt_fail(
            attempt_id=attempt_id, code="timeout", message=TOOK_TOO_LONG_MESSAGE
        )
        return "failed"
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task
def requeue_stuck_attempts() -> dict[str, int]:
    report = services.attempts_requeue_stuck()
    if report.requeued or report.failed:
        logger.info("Sweep: requeued %s, failed %s", report.requeued, report.failed)
    return {"requeued": len(report.requeued), "failed": len(report.failed)}
