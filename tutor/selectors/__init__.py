"""Reads for the teacher pages: dashboard, class grid, class charts and learner history.

Each function issues a fixed number of queries whatever the size of the class (the
query-count tests hold them to it): aggregates are computed in SQL, grouped rows are
folded into dictionaries in Python, and nothing is fetched per learner or per attempt.

One module per page part; every public name is re-exported here, so callers import from
``tutor.selectors``:

- ``class_attempts``: which attempts belong to a class (the base of every class read);
- ``dashboard``: the teacher dashboard's per-class summaries;
- ``class_grid``: the learners × lessons grid of the class view;
- ``class_charts``: the class view's weekly scores and error breakdown charts;
- ``learner_history``: one learner's filtered, sortable attempt history.

The most-missed words and sounds are shared with the learner pages and live in
``assessments.selectors``.
"""

from tutor.selectors.class_attempts import (
    INSIGHT_DAYS,
    classroom_attempts,
    classroom_recent_scored_attempts,
)
from tutor.selectors.class_charts import (
    ERROR_CATEGORIES,
    SERIES_MAX_WEEKS,
    chart_bar,
    error_breakdown,
    score_series_weekly,
)
from tutor.selectors.class_grid import ClassroomGrid, GridCell, GridRow, classroom_grid
from tutor.selectors.dashboard import (
    ASSIGNMENT_LOOKAHEAD,
    ASSIGNMENT_LOOKBACK,
    ClassroomSummary,
    classroom_summaries_for_user,
)
from tutor.selectors.learner_history import (
    HISTORY_ORDERINGS,
    learner_attempts,
    learner_history_page_rows,
    lessons_for_history_filter,
)

__all__ = [
    "ASSIGNMENT_LOOKAHEAD",
    "ASSIGNMENT_LOOKBACK",
    "ERROR_CATEGORIES",
    "HISTORY_ORDERINGS",
    "INSIGHT_DAYS",
    "SERIES_MAX_WEEKS",
    "ClassroomGrid",
    "ClassroomSummary",
    "GridCell",
    "GridRow",
    "chart_bar",
    "classroom_attempts",
    "classroom_grid",
    "classroom_recent_scored_attempts",
    "classroom_summaries_for_user",
    "error_breakdown",
    "learner_attempts",
    "learner_history_page_rows",
    "lessons_for_history_filter",
    "score_series_weekly",
]
