"""Reads for the teacher pages: dashboard, class grid, class charts and learner history.

Each function issues a fixed number of queries whatever the size of the class (the
query-count tests hold them to it): aggregates are computed in SQL, grouped rows are
folded into dictionaries in Python, and nothing is fetched per learner or per attempt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus, WordResult
from assessments.results import SCORE_NAMES, ErrorType
from assessments.selectors import CHART_SCORES, chart_line
from assessments.templatetags.assessment_tags import score, score_band
from tutor.models import Assignment, Classroom, Lesson, User
from tutor.permissions import (
    classroom_learner_ids,
    classroom_lesson_ids,
    classrooms_visible_to,
)

WEEK = dt.timedelta(days=7)
ASSIGNMENT_LOOKAHEAD = dt.timedelta(days=14)
ASSIGNMENT_LOOKBACK = dt.timedelta(days=7)
SERIES_MAX_WEEKS = 26
INSIGHT_DAYS = 28


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _scored(attempts: QuerySet[Attempt]) -> QuerySet[Attempt]:
    return attempts.filter(status=AttemptStatus.SUCCEEDED)


# Most-missed words and phonemes and a learner's per-attempt chart are shared with the
# learner pages: assessments.selectors.word_list_most_missed, phoneme_list_most_missed and
# attempt_chart_series take the class-wide queryset from classroom_attempts().


def classroom_attempts(*, classroom: Classroom) -> QuerySet[Attempt]:
    """The class's attempts: by its learners, on the lessons assigned to it.

    Not every attempt of its learners: one who is also in another class practises that
    class's lessons too, and those belong to the other class's teacher.
    """
    return Attempt.objects.filter(
        learner_id__in=classroom_learner_ids(classroom=classroom),
        lesson_id__in=classroom_lesson_ids(classroom=classroom),
    )


def classroom_recent_scored_attempts(
    *, classroom: Classroom, now: dt.datetime | None = None
) -> QuerySet[Attempt]:
    """The class's scored attempts of the last INSIGHT_DAYS days.

    The error breakdown and most-missed lists read every word and phoneme of these
    attempts, so they look at what the class is struggling with now rather than at its
    whole history (which also keeps the class view fast as the history grows).
    """
    since = (now or timezone.now()) - dt.timedelta(days=INSIGHT_DAYS)
    return _scored(classroom_attempts(classroom=classroom)).filter(created_at__gte=since)


# --- Dashboard ------------------------------------------------------------------------------


@dataclass
class ClassroomSummary:
    classroom: Classroom
    learner_count: int = 0
    attempts_this_week: int = 0
    average_this_week: float | None = None
    average_last_week: float | None = None
    inactive_learners: list[User] = field(default_factory=list)
    assignments_due: list[Assignment] = field(default_factory=list)

    @property
    def trend(self) -> float | None:
        """Change in the average pronunciation score against the week before."""
        if self.average_this_week is None or self.average_last_week is None:
            return None
        return round(self.average_this_week - self.average_last_week, 1)

    @property
    def trend_size(self) -> float | None:
        """The trend without its sign, for "up 3.5" / "down 3.5" wording."""
        return None if self.trend is None else abs(self.trend)


def classroom_summaries_for_user(
    *, user: User, now: dt.datetime | None = None
) -> list[ClassroomSummary]:
    """The dashboard: one summary per class the user may see, in four queries."""
    now = now or timezone.now()
    week_ago, fortnight_ago = now - WEEK, now - 2 * WEEK
    classrooms = list(
        classrooms_visible_to(user=user).annotate(learner_count=Count("learners"))
    )
    summaries = {
        c.pk: ClassroomSummary(classroom=c, learner_count=c.learner_count) for c in classrooms
    }
    if not summaries:
        return []
    through = Classroom.learners.through
    ids = list(summaries)

    # Attempts are counted per class through the membership table, and only on lessons
    # that class assigned: a learner in two classes counts in each for that class's own
    # lessons. The filter() before annotate() restricts the aggregates to the last
    # fortnight's attempts; the conditions sit in one filter() call so they share one
    # join (and the assignment join adds no rows: one per class and lesson).
    this_week = Q(user__attempts__created_at__gte=week_ago)
    last_week = Q(user__attempts__created_at__lt=week_ago)
    scored = Q(user__attempts__status=AttemptStatus.SUCCEEDED)
    stats = (
        through.objects.filter(
            classroom_id__in=ids,
            user__attempts__created_at__gte=fortnight_ago,
            user__attempts__lesson__assignments__classroom_id=F("classroom_id"),
        )
        .values("classroom_id")
        .annotate(
            attempts_this_week=Count("user__attempts", filter=this_week),
            average_this_week=Avg("user__attempts__pronunciation", filter=this_week & scored),
            average_last_week=Avg("user__attempts__pronunciation", filter=last_week & scored),
        )
        .order_by()
    )
    for row in stats:
        summary = summaries[row["classroom_id"]]
        summary.attempts_this_week = row["attempts_this_week"]
        summary.average_this_week = _round(row["average_this_week"])
        summary.average_last_week = _round(row["average_last_week"])

    inactive = (
        through.objects.filter(classroom_id__in=ids)
        .annotate(
            practised=Exists(
                Attempt.objects.filter(
                    learner_id=OuterRef("user_id"),
                    created_at__gte=week_ago,
                    lesson__assignments__classroom_id=OuterRef("classroom_id"),
                )
            )
        )
        .filter(practised=False)
        .select_related("user")
        .order_by("user__username")
    )
    for membership in inactive:
        summaries[membership.classroom_id].inactive_learners.append(membership.user)

    today = timezone.localdate(now)
    due = (
        Assignment.objects.filter(
            classroom_id__in=ids,
            due_date__gte=today - ASSIGNMENT_LOOKBACK,
            due_date__lte=today + ASSIGNMENT_LOOKAHEAD,
        )
        .select_related("lesson")
        .order_by("due_date", "lesson__order")
    )
    for assignment in due:
        assignment.is_overdue = assignment.due_date < today
        summaries[assignment.classroom_id].assignments_due.append(assignment)
    return list(summaries.values())


# --- Class view -----------------------------------------------------------------------------


@dataclass
class GridCell:
    best: float | None = None
    latest: float | None = None
    attempts: int = 0

    # A class grid has hundreds of cells: the text and colour band of each score are worked
    # out once here instead of by several template filters per cell.
    def __post_init__(self) -> None:
        self.best_text, self.best_band = score(self.best), score_band(self.best)
        self.latest_text, self.latest_band = score(self.latest), score_band(self.latest)


@dataclass
class GridRow:
    learner: User
    cells: list[GridCell]
    attempt_count: int = 0
    last_attempt_at: dt.datetime | None = None
    average: float | None = None

    def __post_init__(self) -> None:
        self.average_text, self.average_band = score(self.average), score_band(self.average)


@dataclass
class ClassroomGrid:
    lessons: list[Lesson]
    assignments: list[Assignment]
    rows: list[GridRow]


def classroom_grid(*, classroom: Classroom) -> ClassroomGrid:
    """Learners × assigned lessons with the best and latest pronunciation score (3 queries).

    One grouped query over the class's attempts (assigned lessons only, so the totals say
    nothing about another class's work) gives every (learner, lesson) pair; the
    per-learner totals are folded from it in Python rather than scanning the attempts a
    second time.
    """
    assignments = list(
        classroom.assignments.select_related("lesson").order_by("lesson__order", "lesson__title")
    )
    lessons = [a.lesson for a in assignments]
    learner_ids = classroom_learner_ids(classroom=classroom)
    learners = list(
        User.objects.filter(pk__in=learner_ids)
        .only("pk", "username", "first_name", "last_name")
        .order_by("last_name", "first_name", "username")
    )
    latest = (
        Attempt.objects.filter(
            learner_id=OuterRef("learner_id"),
            lesson_id=OuterRef("lesson_id"),
            status=AttemptStatus.SUCCEEDED,
        )
        .order_by("-created_at", "-pk")
        .values("pronunciation")[:1]
    )
    scored = Q(status=AttemptStatus.SUCCEEDED)
    pairs = (
        classroom_attempts(classroom=classroom)
        .values("learner_id", "lesson_id")
        .annotate(
            attempts=Count("pk"),
            scored=Count("pronunciation", filter=scored),
            score_sum=Sum("pronunciation", filter=scored),
            best=Max("pronunciation", filter=scored),
            last_at=Max("created_at"),
            latest=Subquery(latest),
        )
        .order_by()
    )
    cells: dict[tuple[int, int], GridCell] = {}
    totals: dict[int, dict[str, Any]] = {}
    for row in pairs:
        cells[(row["learner_id"], row["lesson_id"])] = GridCell(
            best=_round(row["best"]), latest=_round(row["latest"]), attempts=row["scored"]
        )
        total = totals.setdefault(
            row["learner_id"], {"attempts": 0, "scored": 0, "sum": 0.0, "last_at": None}
        )
        total["attempts"] += row["attempts"]
        total["scored"] += row["scored"]
        total["sum"] += row["score_sum"] or 0.0
        if total["last_at"] is None or row["last_at"] > total["last_at"]:
            total["last_at"] = row["last_at"]
    rows = []
    for learner in learners:
        total = totals.get(learner.pk, {"attempts": 0, "scored": 0, "sum": 0.0,
                                        "last_at": None})
        rows.append(GridRow(
            learner=learner,
            cells=[cells.get((learner.pk, lesson.pk), GridCell()) for lesson in lessons],
            attempt_count=total["attempts"],
            last_attempt_at=total["last_at"],
            average=_round(total["sum"] / total["scored"]) if total["scored"] else None,
        ))
    return ClassroomGrid(lessons=lessons, assignments=assignments, rows=rows)


def chart_bar(*, labels: list[str], label: str, data: list[int]) -> dict[str, Any]:
    """A one-series bar chart in the JSON shape static/js/charts.js draws."""
    return {
        "type": "bar",
        "labels": labels,
        "datasets": [{"label": label, "data": data}],
        "y_max": None,  # counts, not scores: let the axis fit the data
        "stacked": False,
    }


def score_series_weekly(
    *, attempts: QuerySet[Attempt], now: dt.datetime | None = None
) -> dict[str, Any]:
    """Weekly averages of the five scores over the last six months, in one query.

    A class has thousands of attempts, so unlike a learner's chart (one point per attempt,
    ``assessments.selectors.attempt_chart_series``) the points are weekly means.
    """
    now = now or timezone.now()
    rows = (
        attempts.filter(
            status=AttemptStatus.SUCCEEDED, created_at__gte=now - SERIES_MAX_WEEKS * WEEK
        )
        .annotate(period=TruncWeek("created_at"))
        .values("period")
        .annotate(**{name: Avg(name) for name, _ in CHART_SCORES})
        .order_by("period")
    )
    rows = list(rows)
    series = {
        label: [_round(row[name]) for row in rows]
        for name, label in CHART_SCORES
        if any(row[name] is not None for row in rows)
    }
    return chart_line(
        labels=[f"Week of {row['period']:%d %b %Y}" for row in rows], series=series
    )


ERROR_CATEGORIES = {
    "Mispronunciation": Q(error_type=ErrorType.MISPRONUNCIATION),
    "Omission": Q(error_type=ErrorType.OMISSION),
    "Insertion": Q(error_type=ErrorType.INSERTION),
    # Breaks and monotone come either as the word's error type or as prosody flags
    # alongside another error, so both are counted (once per word).
    "Breaks": Q(error_type__in=(ErrorType.UNEXPECTED_BREAK, ErrorType.MISSING_BREAK))
    | Q(unexpected_break=True)
    | Q(missing_break=True),
    "Monotone": Q(error_type=ErrorType.MONOTONE) | Q(monotone=True),
}


def error_breakdown(*, attempts: QuerySet[Attempt]) -> dict[str, Any]:
    """How many words had each kind of error, across the attempts (one query)."""
    counts = WordResult.objects.filter(
        attempt__in=_scored(attempts).order_by().values("pk")
    ).aggregate(
        **{f"c{i}": Count("pk", filter=q) for i, q in enumerate(ERROR_CATEGORIES.values())}
    )
    return chart_bar(
        labels=list(ERROR_CATEGORIES),
        label="Words",
        data=[counts[f"c{i}"] for i in range(len(ERROR_CATEGORIES))],
    )


# --- Learner history ----------------------------------------------------------------------

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
