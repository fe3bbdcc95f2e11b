"""Ending an attempt whose run was killed from outside: the task's hard time limit."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from assessments.models import Attempt
from assessments.services.lifecycle import TOOK_TOO_LONG_MESSAGE, S, attempt_fail

logger = logging.getLogger(__name__)

# Between the worker accepting a task and the run claiming its attempt (``started_at``):
# the pool process's database round trip. Too short only leaves a killed run's attempt to
# the sweep; too long could fail an attempt that a duplicate message started that much later.
CLAIM_GRACE = timedelta(seconds=1)


def attempt_fail_hard_time_limit(*, attempt_id: int, time_limit: float) -> bool:
    """Fail the attempt as ``timeout`` if the run the hard limit killed still owns it.

    Called just after the kill, by the worker's main process, which never learns the killed
    run's claim; so ownership is judged by age. The limit counts from when the worker
    accepted the task and the run claimed the attempt after that, so its claim is at least
    ``time_limit`` old (less :data:`CLAIM_GRACE`). A run that took over later carries a
    younger claim and is left alone, as are re-queued and finished attempts. True if failed.
    """
    claimed_before = timezone.now() - timedelta(seconds=time_limit) + CLAIM_GRACE
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update()
            .filter(pk=attempt_id, status=S.PROCESSING, started_at__lte=claimed_before)
            .first()
        )
        if attempt is None:
            logger.info("Attempt %s is no longer the killed run's; left as it is.", attempt_id)
            return False
        attempt_fail(
            attempt_id=attempt_id, code="timeout", message=TOOK_TOO_LONG_MESSAGE,
            detail=f"Hard time limit ({time_limit:g} s) hit; the worker process was killed.",
            engine=attempt.engine, claim=attempt.started_at,
        )
    return True
