"""The teacher dashboard: one summary per visible class, in four queries.

Aggregates are computed in SQL over the membership table and folded into one
ClassroomSummary per class; nothing is fetched per learner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Exists, F, OuterRef, Q
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus
from tutor.models import Assignment, Classroom, User
from tutor.permissions import classrooms_visible_to
from tutor.selectors._shared import WEEK, round_score

ASSIGNMENT_LOOKAHEAD = dt.timedelta(days=14)
ASSIGNMENT_LOOKBACK = dt.timedelta(days=7)


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
        summary.average_this_week = round_score(row["average_this_week"])
        summary.average_last_week = round_score(row["average_last_week"])

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
