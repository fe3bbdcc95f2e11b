"""What the teacher pages show: dashboard figures, the grid, charts, history filters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus
from tests.factories import AssignmentFactory, AttemptFactory, LessonFactory, WordResultFactory
from tutor.selectors import classroom_grid, classroom_summaries_for_user, error_breakdown


def _attempt(learner, lesson, score, days_ago=0, **extra):
    attempt = AttemptFactory(learner=learner, lesson=lesson, pronunciation=score, **extra)
    Attempt.objects.filter(pk=attempt.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return attempt


def test_dashboard_summary_figures(school):
    quiet = school.classroom.learners.create(username="quiet")
    _attempt(school.learner, school.lesson, 80.0, days_ago=1)
    _attempt(school.learner, school.lesson, 70.0, days_ago=2)
    _attempt(school.learner, school.lesson, 60.0, days_ago=10)  # the week before
    _attempt(school.learner, school.lesson, None, days_ago=1, status=AttemptStatus.FAILED)
    _attempt(school.other_learner, school.lesson, 10.0, days_ago=1)  # not my class
    due = timezone.localdate() + timedelta(days=3)
    AssignmentFactory(classroom=school.classroom, lesson=LessonFactory(title="Due soon"),
                      due_date=due)
    AssignmentFactory(classroom=school.classroom, lesson=LessonFactory(title="Far"),
                      due_date=due + timedelta(days=60))

    [summary] = classroom_summaries_for_user(user=school.teacher)

    assert summary.classroom == school.classroom
    assert summary.learner_count == 2
    assert summary.attempts_this_week == 3
    assert summary.average_this_week == 75.0
    assert summary.average_last_week == 60.0
    assert summary.trend == 15.0
    assert summary.inactive_learners == [quiet]
    assert [a.lesson.title for a in summary.assignments_due] == ["Due soon"]


def test_grid_best_latest_and_totals(school):
    second = LessonFactory(title="Second")
    AssignmentFactory(classroom=school.classroom, lesson=second)
    _attempt(school.learner, school.lesson, 90.0, days_ago=3)
    _attempt(school.learner, school.lesson, 70.0, days_ago=1)
    _attempt(school.learner, school.lesson, None, days_ago=0, status=AttemptStatus.FAILED)

    grid = classroom_grid(classroom=school.classroom)

    assert [lesson.title for lesson in grid.lessons] == ["Greetings", "Second"]
    [row] = grid.rows
    assert row.learner == school.learner
    first, untried = row.cells
    assert (first.best, first.latest, first.attempts) == (90.0, 70.0, 2)
    assert untried.attempts == 0
    assert row.attempt_count == 3
    assert row.average == 80.0


def test_error_breakdown_counts_each_kind(school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    WordResultFactory(attempt=attempt, error_type="Mispronunciation")
    WordResultFactory(attempt=attempt, error_type="Omission")
    WordResultFactory(attempt=attempt, error_type="Insertion")
    WordResultFactory(attempt=attempt, error_type="UnexpectedBreak")
    WordResultFactory(attempt=attempt, error_type="None", missing_break=True, monotone=True)
    WordResultFactory(attempt=attempt, error_type="None")

    chart = error_breakdown(attempts=Attempt.objects.all())

    assert chart["type"] == "bar"
    assert dict(zip(chart["labels"], chart["datasets"][0]["data"], strict=True)) == {
        "Mispronunciation": 1, "Omission": 1, "Insertion": 1, "Breaks": 2, "Monotone": 1,
    }


def test_class_page_shows_grid_and_most_missed(client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=88.0)
    WordResultFactory(attempt=attempt, word="Morning", error_type="Mispronunciation",
                      accuracy=30.0)
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=61.0)
    client.force_login(school.teacher)
    response = client.get(reverse("teacher-class", args=[school.classroom.pk]))
    body = response.content.decode()
    [row] = response.context["grid"].rows
    [cell] = row.cells
    assert row.learner == school.learner
    assert (cell.best, cell.latest, cell.attempts) == (88.0, 61.0, 2)
    # The learner's row, in the lesson's column: best 88 (green) / latest 61 (amber).
    learner_url = reverse("teacher-learner", args=[school.classroom.pk, school.learner.pk])
    row_html = re.search(
        rf'<tr>\s*<th scope="row"><a href="{learner_url}">{school.learner.display_name}</a>'
        r"</th>\s*<td>(.*?)</td>", body, re.S,
    )
    assert row_html, body
    assert row_html.group(1) == (
        '<span class="score-chip score-chip--good">88</span> / '
        '<span class="score-chip score-chip--fair">61</span> <span class="muted">(2)</span>'
    )
    assert "<th scope=\"row\">morning</th>" in body
    assert reverse("teacher-class-chart-scores", args=[school.classroom.pk]) in body
    assert 'data-chart-json="class-errors-chart"' in body


def test_weekly_scores_table_for_browsers_without_javascript(client, school):
    _attempt(school.learner, school.lesson, 79.6, days_ago=1)
    client.force_login(school.teacher)
    class_page = client.get(reverse("teacher-class", args=[school.classroom.pk])).content
    table_url = reverse("teacher-class-scores-weekly", args=[school.classroom.pk])
    noscript = re.search(r"<noscript>(.*?)</noscript>", class_page.decode(), re.S).group(1)
    assert f'href="{table_url}"' in noscript

    response = client.get(table_url)
    chart = client.get(reverse("teacher-class-chart-scores", args=[school.classroom.pk])).json()
    assert response.context["chart"] == chart  # the same figures as the chart
    body = response.content.decode()
    [week] = chart["labels"]
    assert f'<th scope="row">{week}</th><td>80</td>' in body
    assert "<script" not in body.split("<main", 1)[-1].split("</main>", 1)[0]


def test_weekly_scores_table_without_scores_says_so(client, school):
    client.force_login(school.teacher)
    body = client.get(reverse("teacher-class-scores-weekly", args=[school.classroom.pk]))
    assert "No scored attempts in this class" in body.content.decode()


def test_class_scores_chart_json(client, school):
    _attempt(school.learner, school.lesson, 80.0, days_ago=1)
    client.force_login(school.teacher)
    data = client.get(reverse("teacher-class-chart-scores", args=[school.classroom.pk])).json()
    assert data["type"] == "line" and data["y_max"] == 100
    assert data["datasets"][0] == {"label": "Pronunciation", "data": [80.0]}


@pytest.fixture
def history(school):
    other_lesson = LessonFactory(title="Weather")
    AssignmentFactory(classroom=school.classroom, lesson=other_lesson)
    made = [
        _attempt(school.learner, school.lesson, 50.0, days_ago=20),
        _attempt(school.learner, school.lesson, 90.0, days_ago=10),
        _attempt(school.learner, other_lesson, 70.0, days_ago=1),
    ]
    return school, other_lesson, made


def _learner_url(school, **query):
    from urllib.parse import urlencode

    url = reverse("teacher-learner", args=[school.classroom.pk, school.learner.pk])
    return f"{url}?{urlencode(query)}" if query else url


def test_history_lists_newest_first_with_links(client, history):
    school, _, made = history
    client.force_login(school.teacher)
    response = client.get(_learner_url(school))
    page = response.context["page"]
    assert [a.pk for a in page.object_list] == [made[2].pk, made[1].pk, made[0].pk]
    assert reverse("attempt-detail", args=[made[0].public_id]) in response.content.decode()
    assert response.context["scores_chart"]["datasets"][0]["data"] == [50.0, 90.0, 70.0]


def test_history_filters_by_lesson_and_dates(client, history):
    school, other_lesson, made = history
    client.force_login(school.teacher)
    response = client.get(_learner_url(school, lesson=school.lesson.pk))
    assert [a.pk for a in response.context["page"].object_list] == [made[1].pk, made[0].pk]
    since = (timezone.localdate() - timedelta(days=15)).isoformat()
    response = client.get(_learner_url(school, date_from=since))
    assert {a.pk for a in response.context["page"].object_list} == {made[1].pk, made[2].pk}
    # The chart follows the filters too.
    assert response.context["scores_chart"]["datasets"][0]["data"] == [90.0, 70.0]


def test_history_sorts_by_score(client, history):
    school, _, made = history
    client.force_login(school.teacher)
    response = client.get(_learner_url(school, sort="-pronunciation"))
    assert [a.pronunciation for a in response.context["page"].object_list] == [90.0, 70.0, 50.0]
    response = client.get(_learner_url(school, sort="pronunciation"))
    assert [a.pronunciation for a in response.context["page"].object_list] == [50.0, 70.0, 90.0]


def test_history_is_paginated_and_htmx_gets_only_the_table(client, school):
    for score in range(30):
        AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=score)
    client.force_login(school.teacher)
    response = client.get(_learner_url(school, page=2), headers={"HX-Request": "true"})
    assert response.context["page"].number == 2
    assert len(response.context["page"].object_list) == 5
    body = response.content.decode()
    assert body.lstrip().startswith("<div id=\"history\"")
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_history_bad_filters_are_reported_not_fatal(client, history):
    school, _, _ = history
    client.force_login(school.teacher)
    response = client.get(_learner_url(school, date_from="2025-02-01", date_to="2025-01-01"))
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()


@pytest.mark.parametrize("key", ["date", "lesson", "accuracy", "fluency", "completeness",
                                 "prosody", "pronunciation"])
@pytest.mark.parametrize("direction", ["", "-"])
def test_every_column_sorts_both_ways_and_keeps_the_filters(client, history, key, direction):
    """The headers link to ``sort=key`` and then ``sort=-key``: both keep the lesson filter."""
    school, _, _ = history
    other = LessonFactory(title="Another lesson")
    AttemptFactory(learner=school.learner, lesson=other, pronunciation=10)
    client.force_login(school.teacher)
    response = client.get(_learner_url(school, sort=direction + key, lesson=school.lesson.pk))
    assert response.context["form"].is_valid(), response.context["form"].errors
    assert response.context["sort"] == direction + key
    lessons = {a.lesson_id for a in response.context["page"].object_list}
    assert lessons == {school.lesson.pk}
