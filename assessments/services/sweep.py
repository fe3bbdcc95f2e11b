"""The sweep: nothing queued or processing stays stuck."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assessments.models import Attempt
from assessments.services import intake
from assessments.services.lifecycle import S, attempt_give_up, transition

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]
    failed: list[int]


@dataclass(frozen=True)
class StuckCutoffs:
    """When an attempt counts as stuck, fixed once per sweep.

    Picks up:

    * queued attempts that were never sent (broker down at upload: ``queued_at`` empty),
      at once;
    * queued attempts sent before ``sent_before`` (a message the broker lost);
    * processing attempts started before ``started_before`` (their worker died).
    """

    sent_before: datetime
    started_before: datetime

    @classmethod
    def at(cls, now: datetime, *, older_than: timedelta | None = None) -> StuckCutoffs:
        """``older_than`` defaults to ``ATTEMPT_STUCK_AFTER_SECONDS``.

        For processing attempts the default is never shorter than the task's hard time limit
        (plus room for clocks that disagree between machines), so a live run is not taken
        over; an explicit ``older_than`` is used as given.
        """
        if older_than is None:
            older_than = timedelta(seconds=settings.ATTEMPT_STUCK_AFTER_SECONDS)
            processing_after = max(
                older_than, timedelta(seconds=settings.ATTEMPT_TASK_TIME_LIMIT + 30)
            )
        else:
            processing_after = older_than
        return cls(sent_before=now - older_than, started_before=now - processing_after)

    def condition(self) -> Q:
        return (
            Q(status=S.QUEUED, queued_at__isnull=True)
            | Q(status=S.QUEUED, queued_at__lt=self.sent_before)
            | Q(status=S.PROCESSING, started_at__lt=self.started_before)
        )


def attempts_requeue_stuck(*, older_than: timedelta | None = None) -> SweepReport:
    """Send again attempts whose message was never sent or got lost; fail those out of tries.

    Which attempts are stuck: see :class:`StuckCutoffs`. A never-sent attempt is sent
    without using a try; a lost message uses one; a dead run already used one when it
    started. Safe to run while another sweep runs (beat and ``requeue_stuck`` at once).
    """
    cutoffs = StuckCutoffs.at(timezone.now(), older_than=older_than)
    requeued: list[int] = []
    failed: list[int] = []
    for attempt_id in attempt_ids_stuck(cutoffs=cutoffs):
        outcome = attempt_requeue_if_stuck(attempt_id=attempt_id, cutoffs=cutoffs)
        if outcome == S.QUEUED:
            requeued.append(attempt_id)
        elif outcome == S.FAILED:
            failed.append(attempt_id)
    if requeued or failed:
        logger.info("Sweep: re-queued %s, failed %s", requeued, failed)
    return SweepReport(requeued=requeued, failed=failed)


def attempt_ids_stuck(*, cutoffs: StuckCutoffs) -> list[int]:
    """Candidates only: each is checked again under its row lock before anything is done."""
    return sorted(Attempt.objects.filter(cutoffs.condition()).values_list("pk", flat=True))


def attempt_requeue_if_stuck(*, attempt_id: int, cutoffs: StuckCutoffs) -> str | None:
    """Re-queue (or give up on) one attempt if it is still stuck; its new status, or None.

    The selection above is stale by the time a row is locked: another sweep may have
    re-sent the attempt since (sending it twice would burn two tries), or a worker may have
    started it (pulling a live run back to queued). So the whole stuck condition is tested
    again on the locked row. A row locked by someone else is being changed right now and is
    skipped; if it is still stuck, the next sweep finds it.
    """
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(skip_locked=True)
            .filter(cutoffs.condition(), pk=attempt_id)
            .first()
        )
        if attempt is None:
            return None
        if attempt.status == S.QUEUED and attempt.queued_at is not None:
            attempt.tries += 1  # its message was lost: that chance is used up
        if attempt.tries >= settings.ATTEMPT_MAX_TRIES:
            attempt_give_up(attempt)
            return S.FAILED
        transition(attempt, S.QUEUED)
        attempt.queued_at = timezone.now()
        attempt.save(update_fields=["status", "queued_at", "tries"])
        transaction.on_commit(lambda: intake.attempt_enqueue(attempt_id=attempt_id))
    return S.QUEUED
