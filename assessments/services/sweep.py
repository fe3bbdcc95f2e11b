"""The sweep: nothing queued or processing stays stuck."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assessments.models import Attempt
from assessments.services import intake
from assessments.services.lifecycle import S, attempt_give_up, lock_attempt, transition

logger = logging.getLogger(__name__)


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
            attempt = lock_attempt(attempt_id)
            if attempt.is_finished:
                continue
            if attempt.status == S.QUEUED and attempt.queued_at is not None:
                attempt.tries += 1  # its message was lost: that chance is used up
            if attempt.tries >= settings.ATTEMPT_MAX_TRIES:
                attempt_give_up(attempt)
                failed.append(attempt_id)
                continue
            transition(attempt, S.QUEUED)
            attempt.queued_at = timezone.now()
            attempt.save(update_fields=["status", "queued_at", "tries"])
            transaction.on_commit(lambda pk=attempt_id: intake.attempt_enqueue(attempt_id=pk))
            requeued.append(attempt_id)
    if requeued or failed:
        logger.info("Sweep: re-queued %s, failed %s", requeued, failed)
    return SweepReport(requeued=requeued, failed=failed)
