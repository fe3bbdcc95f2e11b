"""Reads for learner and teacher pages: lesson lists with scores, attempts, charts, misses.

Everything that aggregates takes a queryset of attempts, so the same function serves one
learner (their own attempts) and a whole class (the teacher pages pass a class-wide
queryset). Narrow that queryset with :func:`assessments.permissions.attempt_visible_to`
before passing it in. Results are plain dataclasses and dicts, except the attempt detail,
which is a model instance with its rows prefetched for the template.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Avg, Count, F, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus, PhonemeResult, WordResult
from assessments.permissions import attempt_visible_to
from assessments.results import MISPRONUNCIATION_THRESHOLD, ErrorType
from tutor.models import Assignment, Lesson, User

# Chart order (the headline score first), with the labels the pages show.
CHART_SCORES: tuple[tuple[str, str], ...] = (
    ("pronunciation", "Pronunciation"),
    ("accuracy", "Accuracy"),
    ("fluency", "Fluency"),
    ("prosody", "Prosody"),
    ("completeness", "Completeness"),
)
# A word counts as missed when it was left out or scored in the red band.
MISSED_WORD = Q(error_type__in=[ErrorType.OMISSION, ErrorType.MISPRONUNCIATION]) | Q(
    accuracy__lt=MISPRONUNCIATION_THRESHOLD
)
MISSED_PHONEME = Q(accuracy__lt=MISPRONUNCIATION_THRESHOLD)


# --- Lessons with scores ----------------------------------------------------------------------


@dataclass(frozen=True)
class LessonSummary:
    pk: int
    title: str
    reference_text: str
    due_date: date | None
    attempt_count: int
    best_score: float | None
    latest_score: float | None
    last_attempt_at: datetime | None

    @property
    def is_overdue(self) -> bool:
        return bool(
            self.due_date and self.attempt_count == 0 and self.due_date < timezone.localdate()
        )


def lessons_with_scores(
    *, lessons: QuerySet[Lesson], attempts: QuerySet[Attempt]
) -> QuerySet[Lesson]:
    """``lessons`` annotated from ``attempts`` (correlated subqueries, still one query).

    Adds ``attempt_count`` (all statuses), ``best_score`` and ``latest_score`` (pronunciation
    of succeeded attempts) and ``last_attempt_at``. Subqueries rather than joins, so other
    joins on ``lessons`` cannot multiply the counts.
    """
    scoped = attempts.filter(lesson=OuterRef("pk")).order_by()
    succeeded = scoped.filter(status=AttemptStatus.SUCCEEDED)
    return lessons.annotate(
        attempt_count=Subquery(
            scoped.values("lesson").annotate(n=Count("pk")).values("n")[:1]
        ),
        best_score=Subquery(
            succeeded.values("lesson").annotate(best=Max("pronunciation")).values("best")[:1]
        ),
        latest_score=Subquery(
            succeeded.order_by("-created_at", "-pk").values("pronunciation")[:1]
        ),
        last_attempt_at=Subquery(
            scoped.values("lesson").annotate(last=Max("created_at")).values("last")[:1]
        ),
    )


def lesson_list_for_learner(*, learner: User) -> list[LessonSummary]:
    """The learner's active lessons from their classes: those with a due date first."""
    assignments = Assignment.objects.filter(classroom__learners=learner)
    lessons = Lesson.objects.filter(is_active=True, pk__in=assignments.values("lesson"))
    due = (
        assignments.filter(lesson=OuterRef("pk"))
        .order_by()
        .values("lesson")
        .annotate(first_due=Min("due_date"))
        .values("first_due")[:1]
    )
    rows = (
        lessons_with_scores(lessons=lessons, attempts=Attempt.objects.filter(learner=learner))
        .annotate(due_date=Subquery(due))
        .order_by(F("due_date").asc(nulls_last=True), "order", "title")
    )
    return [
        LessonSummary(
            pk=row.pk,
            title=row.title,
            reference_text=row.reference_text,
            due_date=row.due_date,
            attempt_count=row.attempt_count or 0,
            best_score=row.best_score,
            latest_score=row.latest_score,
            last_attempt_at=row.last_attempt_at,
        )
        for row in rows
    ]


# --- Attempts ---------------------------------------------------------------------------------


def attempt_list_visible(
    *,
    user: User,
    lesson: Lesson | int | None = None,
    learner: User | int | None = None,
    status: str | None = None,
) -> QuerySet[Attempt]:
    """Attempts ``user`` may open, newest first, optionally for one lesson/learner/status."""
    attempts = attempt_visible_to(user=user).select_related("lesson", "learner")
    if lesson is not None:
        attempts = attempts.filter(lesson=lesson)
    if learner is not None:
        attempts = attempts.filter(learner=learner)
    if status is not None:
        attempts = attempts.filter(status=status)
    return attempts.order_by("-created_at", "-pk")


def attempt_get_detail(*, attempts: QuerySet[Attempt], public_id: uuid.UUID) -> Attempt | None:
    """One attempt from ``attempts`` with its words and their phonemes prefetched in order."""
    phonemes = PhonemeResult.objects.order_by("order")
    words = WordResult.objects.order_by("order").prefetch_related(
        Prefetch("phonemes", queryset=phonemes)
    )
    return (
        attempts.select_related("lesson", "learner")
        .prefetch_related(Prefetch("words", queryset=words))
        .filter(public_id=public_id)
        .first()
    )


# --- Charts -----------------------------------------------------------------------------------


def chart_line(*, labels: list[str], series: dict[str, list[float | None]]) -> dict[str, Any]:
    """The JSON shape ``static/js/charts.js`` draws (see the contract at the top of it)."""
    return {
        "type": "line",
        "labels": labels,
        "datasets": [{"label": label, "data": data} for label, data in series.items()],
        "y_max": 100,
        "stacked": False,
    }


def _series_from_rows(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    labels: list[str] = []
    series: dict[str, list[float | None]] = {label: [] for _, label in CHART_SCORES}
    for number, row in enumerate(rows, start=1):
        labels.append(f"#{number} {timezone.localtime(row['created_at']):%d %b}")
        for name, label in CHART_SCORES:
            value = row[name]
            series[label].append(None if value is None else round(value, 1))
    # A score the lesson never produces (prosody off, Basic dimension) is left out.
    series = {label: data for label, data in series.items() if any(v is not None for v in data)}
    return chart_line(labels=labels, series=series)


def attempt_chart_series(*, attempts: QuerySet[Attempt]) -> dict[str, Any]:
    """The five scores over the succeeded ``attempts``, oldest first, as chart JSON."""
    rows = (
        attempts.filter(status=AttemptStatus.SUCCEEDED)
        .order_by("created_at", "pk")
        .values("created_at", *(name for name, _ in CHART_SCORES))
    )
    return _series_from_rows(rows)


@dataclass
class LessonProgress:
    lesson_id: int
    title: str
    chart: dict[str, Any] = field(default_factory=dict)
    attempt_count: int = 0
    best_score: float | None = None
    latest_score: float | None = None

    @property
    def chart_id(self) -> str:
        """A DOM id for the chart's ``json_script`` block."""
        return f"chart-lesson-{self.lesson_id}"


def attempt_progress_by_lesson(*, attempts: QuerySet[Attempt]) -> list[LessonProgress]:
    """Per lesson, the chart of the succeeded ``attempts`` (one query for all lessons)."""
    rows = (
        attempts.filter(status=AttemptStatus.SUCCEEDED)
        .order_by("lesson__order", "lesson__title", "lesson_id", "created_at", "pk")
        .values("lesson_id", "lesson__title", "created_at", *(n for n, _ in CHART_SCORES))
    )
    grouped: dict[int, list[dict[str, Any]]] = {}
    titles: dict[int, str] = {}
    for row in rows:
        grouped.setdefault(row["lesson_id"], []).append(row)
        titles[row["lesson_id"]] = row["lesson__title"]
    progress = []
    for lesson_id, lesson_rows in grouped.items():
        scores = [r["pronunciation"] for r in lesson_rows if r["pronunciation"] is not None]
        progress.append(
            LessonProgress(
                lesson_id=lesson_id,
                title=titles[lesson_id],
                chart=_series_from_rows(lesson_rows),
                attempt_count=len(lesson_rows),
                best_score=max(scores) if scores else None,
                latest_score=scores[-1] if scores else None,
            )
        )
    return progress


# --- Most-missed words and phonemes -----------------------------------------------------------


@dataclass(frozen=True)
class MissedItem:
    text: str
    misses: int
    occurrences: int
    average_accuracy: float | None


def word_list_most_missed(*, attempts: QuerySet[Attempt], limit: int = 10) -> list[MissedItem]:
    """Reference words most often omitted or mispronounced in ``attempts`` (case-folded)."""
    words = WordResult.objects.filter(attempt__in=attempts.order_by().values("pk")).exclude(
        error_type=ErrorType.INSERTION  # not in the text: nothing to practise
    )
    return _most_missed(words, text=Lower("word"), missed=MISSED_WORD, limit=limit)


def phoneme_list_most_missed(
    *, attempts: QuerySet[Attempt], limit: int = 10
) -> list[MissedItem]:
    """Phonemes most often scored below 60 in ``attempts``."""
    phonemes = PhonemeResult.objects.filter(attempt__in=attempts.order_by().values("pk"))
    return _most_missed(phonemes, text=F("phoneme"), missed=MISSED_PHONEME, limit=limit)


def _most_missed(rows: QuerySet, *, text: Any, missed: Q, limit: int) -> list[MissedItem]:
    """Group ``rows`` by ``text``: how often missed, how often seen, mean accuracy (one query)."""
    grouped = (
        rows.annotate(text=text)
        .values("text")
        .annotate(
            misses=Count("pk", filter=missed),
            occurrences=Count("pk"),
            average_accuracy=Avg("accuracy"),
        )
        .filter(misses__gt=0)
        .order_by("-misses", "average_accuracy", "text")[:limit]
    )
    return [_missed(row) for row in grouped]


def _missed(row: dict[str, Any]) -> MissedItem:
    average = row["average_accuracy"]
    return MissedItem(
        text=row["text"],
        misses=row["misses"],
        occurrences=row["occurrences"],
        average_accuracy=None if average is None else round(average, 1),
    )
