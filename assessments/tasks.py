"""Celery tasks: take an id, call a service, retry when the service says so.

Delivery settings (``acks_late``, ``reject_on_worker_lost``, prefetch 1) make a task whose
worker dies come back instead of vanishing; the services make running it twice harmless.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from django.conf import settings

from assessments import services
from assessments.services import recovery

logger = logging.getLogger(__name__)


class AttemptTask(Task):
    """Marks the attempt failed when the task crashes or hits its hard time limit.

    Not called for retries.
    """

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001 - Celery API
        attempt_id = args[0] if args else kwargs.get("attempt_id")
        if attempt_id is None:
            return
        try:
            if isinstance(exc, TimeLimitExceeded):
                # The hard limit killed the pool process mid-run, so the service never saw
                # it (a soft limit it handles itself). This runs in the worker's main
                # process after the kill; another run may own the attempt by now.
                time_limit = float(exc.args[0]) if exc.args else float(self.time_limit or 0)
                logger.error("Task %s for attempt %s hit the hard time limit (%g s).",
                             task_id, attempt_id, time_limit)
                recovery.attempt_fail_hard_time_limit(
                    attempt_id=attempt_id, time_limit=time_limit
                )
                return
            logger.error("Task %s for attempt %s crashed: %r", task_id, attempt_id, exc)
            services.attempt_fail(
                attempt_id=attempt_id,
                code="internal_error",
                message=services.INTERNAL_ERROR_MESSAGE,
            )
        except Exception:  # noqa: BLE001 - e.g. the database is down too; the sweep retries
            logger.exception("Could not mark attempt %s failed; the sweep will.", attempt_id)


@shared_task(
    bind=True,
    base=AttemptTask,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.ATTEMPT_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.ATTEMPT_TASK_TIME_LIMIT,
    max_retries=None,  # the attempt's own `tries` counter bounds retries
)
def assess_attempt(self: Task, attempt_id: int) -> str:
    outcome = services.attempt_process(attempt_id=attempt_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(ignore_result=True)
def requeue_stuck_attempts() -> dict[str, int]:
    report = services.attempts_requeue_stuck()
    return {"requeued": len(report.requeued), "failed": len(report.failed)}
