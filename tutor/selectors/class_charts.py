"""The class view's charts: weekly score averages and the error breakdown, one query each.

Each returns the JSON shape static/js/charts.js draws.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus, WordResult
from assessments.results import ErrorType
from assessments.selectors import CHART_SCORES, chart_line
from tutor.selectors._shared import WEEK, round_score, scored_only

SERIES_MAX_WEEKS = 26


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
        label: [round_score(row[name]) for row in rows]
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
        attempt__in=scored_only(attempts).order_by().values("pk")
    ).aggregate(
        **{f"c{i}": Count("pk", filter=q) for i, q in enumerate(ERROR_CATEGORIES.values())}
    )
    return chart_bar(
        labels=list(ERROR_CATEGORIES),
        label="Words",
        data=[counts[f"c{i}"] for i in range(len(ERROR_CATEGORIES))],
    )
