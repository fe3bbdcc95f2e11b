"""Two sweeps at once (beat and ``requeue_stuck``), or a sweep racing a worker.

A sweep selects stuck attempts, then handles them one by one under a row lock. These tests
run the two halves apart (``attempt_ids_stuck``, then ``attempt_requeue_if_stuck``) with
something else happening in between, as it can in production. The row lock itself, on
PostgreSQL, is covered in ``tests/integration/test_lifecycle.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus
from assessments.services import attempts_requeue_stuck
from assessments.services.sweep import StuckCutoffs, attempt_ids_stuck, attempt_requeue_if_stuck
from assessments.tasks import assess_attempt
from tests.factories import AttemptFactory

S = AttemptStatus
TASK = assess_attempt.name


@pytest.fixture
def limits(settings):
    settings.ATTEMPT_STUCK_AFTER_SECONDS = 600
    settings.ATTEMPT_TASK_TIME_LIMIT = 150
    settings.ATTEMPT_MAX_TRIES = 3


def _sweep_selects(**options) -> tuple[StuckCutoffs, list[int]]:
    """The first half of a sweep: what it will go on to lock and handle."""
    cutoffs = StuckCutoffs.at(timezone.now(), **options)
    return cutoffs, attempt_ids_stuck(cutoffs=cutoffs)


def test_two_interleaved_sweeps_send_a_lost_message_once(
    db, limits, memory_broker, django_capture_on_commit_callbacks
):
    # One try used already: sent twice, the lost message would use the last two at once,
    # and the attempt would give up without ever having been assessed again.
    lost = AttemptFactory(status=S.QUEUED, tries=1,
                          queued_at=timezone.now() - timedelta(minutes=11))
    cutoffs, selected = _sweep_selects()
    assert selected == [lost.pk]

    with django_capture_on_commit_callbacks(execute=True):
        other = attempts_requeue_stuck()  # the other sweep does all its work in between
        outcome = attempt_requeue_if_stuck(attempt_id=lost.pk, cutoffs=cutoffs)

    assert other.requeued == [lost.pk]
    assert outcome is None
    lost.refresh_from_db()
    assert (lost.status, lost.tries, lost.failure_code) == (S.QUEUED, 2, "")
    assert memory_broker.sent() == [(TASK, [lost.pk])]


def test_two_interleaved_sweeps_give_up_once(
    db, limits, memory_broker, django_capture_on_commit_callbacks
):
    dead = AttemptFactory(status=S.PROCESSING, tries=3,
                          started_at=timezone.now() - timedelta(minutes=11))
    cutoffs, _ = _sweep_selects()
    with django_capture_on_commit_callbacks(execute=True):
        assert attempts_requeue_stuck().failed == [dead.pk]
        assert attempt_requeue_if_stuck(attempt_id=dead.pk, cutoffs=cutoffs) is None
    assert memory_broker.sent() == []


@pytest.mark.parametrize(
    "stuck_as",
    [
        {"status": S.QUEUED, "queued_at": None},  # never sent
        {"status": S.QUEUED, "tries": 1, "queued_at_minutes_ago": 11},  # message lost
        {"status": S.PROCESSING, "tries": 1, "started_at_minutes_ago": 11},  # worker died
    ],
    ids=["never-sent", "lost", "dead-run"],
)
def test_a_run_that_starts_after_the_selection_is_not_pulled_back(
    db, limits, memory_broker, django_capture_on_commit_callbacks, stuck_as
):
    now = timezone.now()
    fields = {"status": stuck_as["status"], "tries": stuck_as.get("tries", 0),
              "queued_at": None, "started_at": None}
    if "queued_at_minutes_ago" in stuck_as:
        fields["queued_at"] = now - timedelta(minutes=stuck_as["queued_at_minutes_ago"])
    if "started_at_minutes_ago" in stuck_as:
        fields["started_at"] = now - timedelta(minutes=stuck_as["started_at_minutes_ago"])
    attempt = AttemptFactory(**fields)
    cutoffs, selected = _sweep_selects()
    assert selected == [attempt.pk]

    # A worker claims it in between, as processing does: processing, one more try, and
    # its claim in started_at (a redelivered message takes over a dead run the same way).
    claim = timezone.now()
    Attempt.objects.filter(pk=attempt.pk).update(
        status=S.PROCESSING, tries=fields["tries"] + 1, started_at=claim
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert attempt_requeue_if_stuck(attempt_id=attempt.pk, cutoffs=cutoffs) is None

    attempt.refresh_from_db()
    assert (attempt.status, attempt.started_at, attempt.tries) == (
        S.PROCESSING, claim, fields["tries"] + 1
    )
    assert memory_broker.sent() == []


def test_an_attempt_finished_after_the_selection_is_left_alone(
    db, limits, memory_broker, django_capture_on_commit_callbacks
):
    dead = AttemptFactory(status=S.PROCESSING, tries=1,
                          started_at=timezone.now() - timedelta(minutes=11))
    cutoffs, _ = _sweep_selects()
    Attempt.objects.filter(pk=dead.pk).update(status=S.SUCCEEDED, finished_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert attempt_requeue_if_stuck(attempt_id=dead.pk, cutoffs=cutoffs) is None
    dead.refresh_from_db()
    assert dead.status == S.SUCCEEDED
    assert memory_broker.sent() == []


def test_explicit_older_than_zero_still_skips_what_changed_after_the_selection(
    db, limits, memory_broker, django_capture_on_commit_callbacks
):
    """``requeue_stuck --older-than 0`` with a worker that came back meanwhile."""
    attempt = AttemptFactory(status=S.QUEUED, tries=0, queued_at=timezone.now())
    cutoffs, selected = _sweep_selects(older_than=timedelta(0))
    assert selected == [attempt.pk]
    Attempt.objects.filter(pk=attempt.pk).update(
        status=S.PROCESSING, tries=1, started_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert attempt_requeue_if_stuck(attempt_id=attempt.pk, cutoffs=cutoffs) is None
    attempt.refresh_from_db()
    assert attempt.status == S.PROCESSING
