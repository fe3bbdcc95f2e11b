"""Writes for attempts: create, queue, process, store, fail, re-assess, sweep.

Every change of ``Attempt.status`` goes through :func:`lifecycle.transition`, which refuses
moves the lifecycle does not allow. Views and tasks stay thin and call these functions:
``intake`` (create, enqueue, re-assess), ``processing`` (convert, assess, store), ``sweep``
(nothing stays stuck), ``recovery`` (a run killed by its hard time limit), on top of the
state machine in ``lifecycle``. The lifecycle,
its failure handling and the reasoning behind the numbers are in ``docs/lifecycle.md``.

Two rules keep an attempt from being lost or stored twice:

* ``started_at`` is the claim of the run that set it. A run stores its outcome only while
  the row still carries its own ``started_at``; a run that was taken over (its worker was
  presumed dead, or the attempt was re-assessed) discards what it computed.
* ``tries`` counts the chances an attempt has used: each time a worker starts it, plus each
  time the sweep finds its message lost. Nothing starts once ``ATTEMPT_MAX_TRIES`` is used
  up, so a recording that kills its worker cannot loop forever.
"""

from assessments.services.intake import (
    StorageUnavailable,
    attempt_create,
    attempt_enqueue,
    attempt_reassess,
)
from assessments.services.lifecycle import (
    GAVE_UP_MESSAGE,
    INTERNAL_ERROR_MESSAGE,
    RECOGNITION_MESSAGES,
    SKIPPED,
    TOOK_TOO_LONG_MESSAGE,
    AttemptSuperseded,
    InvalidTransition,
    ProcessOutcome,
    attempt_fail,
    transition,
)
from assessments.services.processing import attempt_process, attempt_store_result
from assessments.services.recovery import attempt_fail_hard_time_limit
from assessments.services.sweep import SweepReport, attempts_requeue_stuck

__all__ = [
    "GAVE_UP_MESSAGE",
    "INTERNAL_ERROR_MESSAGE",
    "RECOGNITION_MESSAGES",
    "SKIPPED",
    "StorageUnavailable",
    "TOOK_TOO_LONG_MESSAGE",
    "AttemptSuperseded",
    "InvalidTransition",
    "ProcessOutcome",
    "SweepReport",
    "attempt_create",
    "attempt_enqueue",
    "attempt_fail",
    "attempt_fail_hard_time_limit",
    "attempt_process",
    "attempt_reassess",
    "attempt_store_result",
    "attempts_requeue_stuck",
    "transition",
]
