"""A learner's history as their teacher sees it: the filtered, sortable table of attempts."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet
from django.utils import timezone

from assessments.models import Attempt
from assessments.results import SCORE_NAMES
from tutor.models import Classroom, Lesson, User
from tutor.permissions import classroom_lesson_ids

HISTORY_ORDERINGS = {
    "date": "created_at",
    "lesson": "lesson__title",
    **{name: name for name in SCORE_NAMES},
}


def learner_attempts(
    *,
    learner: User,
    classroom: Classroom,
    lesson_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Attempt]:
    """A learner's attempts on the class's lessons, filtered by lesson and by local
    calendar dates (inclusive)."""
    attempts = Attempt.objects.filter(
        learner=learner, lesson_id__in=classroom_lesson_ids(classroom=classroom)
    )
    if lesson_id:
        attempts = attempts.filter(lesson_id=lesson_id)
    if date_from:
        attempts = attempts.filter(created_at__gte=_start_of(date_from))
    if date_to:
        attempts = attempts.filter(created_at__lt=_start_of(date_to + dt.timedelta(days=1)))
    return attempts


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def learner_history_page_rows(*, attempts: QuerySet[Attempt], sort: str) -> QuerySet[Attempt]:
    """The history table rows: only the columns shown, lesson joined, stable ordering.

    ``sort`` is a key of HISTORY_ORDERINGS, optionally prefixed with ``-``; anything else
    falls back to newest first.
    """
    key = sort.lstrip("-")
    field_name = HISTORY_ORDERINGS.get(key)
    if field_name is None:
        ordering = ["-created_at"]
    else:
        descending = sort.startswith("-")
        expression = F(field_name).desc(nulls_last=True) if descending else F(field_name).asc(
            nulls_last=True
        )
        ordering = [expression, "-created_at"]
    return (
        attempts.select_related("lesson")
        .only(
            "public_id", "status", "engine", "created_at", "finished_at", "lesson__title",
            "learner_id", *SCORE_NAMES,
        )
        .order_by(*ordering, "-pk")
    )


def lessons_for_history_filter(*, classroom: Classroom) -> QuerySet[Lesson]:
    """The lessons a learner's history can be filtered by: those assigned to the class
    (the only ones whose attempts the history shows)."""
    return (
        Lesson.objects.filter(pk__in=classroom_lesson_ids(classroom=classroom))
        .only("pk", "title")
        .order_by("order", "title")
    )
