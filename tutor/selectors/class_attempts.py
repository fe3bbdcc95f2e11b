"""Which attempts belong to a class: the base queryset every class read starts from.

A class's attempts are its learners' attempts on the lessons assigned to it, never all of
its learners' attempts (see classroom_attempts).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from assessments.models import Attempt
from tutor.models import Classroom
from tutor.permissions import classroom_learner_ids, classroom_lesson_ids
from tutor.selectors._shared import scored_only

INSIGHT_DAYS = 28


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
    return scored_only(classroom_attempts(classroom=classroom)).filter(created_at__gte=since)
