"""The class view's grid: learners × assigned lessons, best and latest scores, totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum

from assessments.models import Attempt, AttemptStatus
from assessments.templatetags.assessment_tags import score, score_band
from tutor.models import Assignment, Classroom, Lesson, User
from tutor.permissions import classroom_learner_ids
from tutor.selectors._shared import round_score
from tutor.selectors.class_attempts import classroom_attempts


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
            best=round_score(row["best"]), latest=round_score(row["latest"]), attempts=row["scored"]
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
            average=round_score(total["sum"] / total["scored"]) if total["scored"] else None,
        ))
    return ClassroomGrid(lessons=lessons, assignments=assignments, rows=rows)
