"""Small helpers the teacher-page selectors share: the week, score rounding, scored attempts."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from assessments.models import Attempt, AttemptStatus

WEEK = dt.timedelta(days=7)


def round_score(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def scored_only(attempts: QuerySet[Attempt]) -> QuerySet[Attempt]:
    return attempts.filter(status=AttemptStatus.SUCCEEDED)
