"""The teacher pages issue a fixed number of queries, however much data the class has."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import AttemptFactory
from tests.tutor.conftest import seed_activity

# The class view: session + user, class, assignments, learners, grid,
# error breakdown, most-missed words, most-missed phonemes (the weekly chart is fetched).
CLASS_VIEW_QUERIES = 9
# The weekly scores (chart JSON, or the table page without JavaScript): session + user,
# class, the weekly series.
WEEKLY_QUERIES = 4
# Learner history: session + user, class, learner, count, page, chart, lesson choices.
LEARNER_VIEW_QUERIES = 8
# Dashboard: session + user, classes, attempt stats, inactive learners, assignments due.
DASHBOARD_QUERIES = 6
# Exports: session + user, class, the streamed query (words: plus their attempts' columns).
EXPORT_QUERIES = 4
WORD_EXPORT_QUERIES = 5


def _urls(school):
    return {
        "teacher-dashboard": (reverse("teacher-dashboard"), DASHBOARD_QUERIES),
        "teacher-class": (reverse("teacher-class", args=[school.classroom.pk]),
                          CLASS_VIEW_QUERIES),
        "teacher-class-chart-scores": (
            reverse("teacher-class-chart-scores", args=[school.classroom.pk]), WEEKLY_QUERIES,
        ),
        "teacher-class-scores-weekly": (
            reverse("teacher-class-scores-weekly", args=[school.classroom.pk]), WEEKLY_QUERIES,
        ),
        "teacher-learner": (
            reverse("teacher-learner", args=[school.classroom.pk, school.learner.pk]),
            LEARNER_VIEW_QUERIES,
        ),
        "teacher-class-export-attempts": (
            reverse("teacher-class-export-attempts", args=[school.classroom.pk]),
            EXPORT_QUERIES,
        ),
        "teacher-class-export-words": (
            reverse("teacher-class-export-words", args=[school.classroom.pk]),
            WORD_EXPORT_QUERIES,
        ),
    }


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize(
    "name",
    ["teacher-dashboard", "teacher-class", "teacher-class-chart-scores",
     "teacher-class-scores-weekly", "teacher-learner", "teacher-class-export-attempts",
     "teacher-class-export-words"],
)
def test_query_count_does_not_grow_with_the_class(
    client, school, name, django_assert_max_num_queries, django_assert_num_queries
):
    client.force_login(school.teacher)
    url, limit = _urls(school)[name]
    # The learner whose history is shown gets attempts too, so every part of the page runs.
    seed_activity(classroom=school.classroom, lesson=school.lesson, learners=5,
                  attempts_each=10)
    for _ in range(3):
        AttemptFactory(learner=school.learner, lesson=school.lesson)
    with django_assert_max_num_queries(limit) as small:
        small_body = _get(client, url)

    seed_activity(classroom=school.classroom, lesson=school.lesson, learners=20,
                  attempts_each=30, learner_prefix="more")
    for _ in range(30):
        AttemptFactory(learner=school.learner, lesson=school.lesson)
    with django_assert_num_queries(len(small.captured_queries)):
        large_body = _get(client, url)
    # Weekly figures: more attempts change the averages, not the number of weeks.
    assert len(large_body) > len(small_body) or name in (
        "teacher-dashboard", "teacher-class-chart-scores", "teacher-class-scores-weekly")
