"""Who may see which attempt and practise which lesson.

Every view that loads an attempt filters through :func:`attempt_visible_to`, so the rule
lives in one place: learners see their own attempts; teachers also see an attempt when one
class they teach has both its learner and its lesson (a learner's practice for another
teacher's class stays with that teacher); admins (by role) see everything. Anything else is
a 404, never a 403, so a guessed id reveals nothing.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from assessments.models import Attempt
from tutor.models import Assignment, Lesson, User


def attempt_visible_to(
    *, user: User, queryset: QuerySet[Attempt] | None = None
) -> QuerySet[Attempt]:
    """``queryset`` (default: all attempts) narrowed to what ``user`` may open."""
    attempts = Attempt.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.is_active:
        return attempts.none()
    if user.is_admin_role:
        return attempts
    if user.is_teacher:
        # Learner and lesson must meet in the same class: being in one of my classes is not
        # enough when the lesson was set by another class. EXISTS rather than a join, so a
        # learner in two of my classes is not returned twice.
        in_my_class = Assignment.objects.filter(
            classroom__teachers=user,
            classroom__learners=OuterRef("learner_id"),
            lesson_id=OuterRef("lesson_id"),
        )
        return attempts.filter(Q(learner=user) | Exists(in_my_class))
    return attempts.filter(learner=user)


def lesson_practicable_by(
    *, user: User, queryset: QuerySet[Lesson] | None = None
) -> QuerySet[Lesson]:
    """Active lessons ``user`` may record: learners only those assigned to their classes.

    Teachers and admins may try any active lesson (to hear what their learners get).
    """
    lessons = Lesson.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.is_active:
        return lessons.none()
    lessons = lessons.filter(is_active=True)
    if user.is_admin_role or user.is_teacher:
        return lessons
    assigned = Assignment.objects.filter(classroom__learners=user).values("lesson")
    return lessons.filter(pk__in=assigned)
