"""CSV exports: streamed, one row per attempt / word, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from assessments.models import AttemptStatus, WordResult
from tests.factories import AttemptFactory, LearnerFactory, WordResultFactory
from tutor.exports import ATTEMPT_COLUMNS, WORD_COLUMNS, csv_safe, word_rows
from tutor.selectors import classroom_attempts


def _download(client, name, school):
    response = client.get(reverse(name, args=[school.classroom.pk]))
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def teacher_client(client, school):
    client.force_login(school.teacher)
    return client


def test_attempts_csv_has_one_row_per_attempt_with_scores(teacher_client, school):
    school.learner.first_name, school.learner.last_name = "Ada", "Lovelace"
    school.learner.save()
    scored = AttemptFactory(learner=school.learner, lesson=school.lesson, accuracy=81.25,
                            fluency=70.0, completeness=100.0, prosody=None,
                            pronunciation=77.5, engine="azure")
    failed = AttemptFactory(learner=school.learner, lesson=school.lesson,
                            status=AttemptStatus.FAILED, accuracy=None, fluency=None,
                            completeness=None, prosody=None, pronunciation=None)
    AttemptFactory(learner=school.other_learner, lesson=school.lesson)  # another class

    rows = _download(teacher_client, "teacher-class-export-attempts", school)

    header, *body = rows
    assert header == [name for name, _ in ATTEMPT_COLUMNS]
    assert len(body) == 2
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    row = by_id[str(scored.public_id)]
    assert row["learner_username"] == "learner"
    assert row["learner_name"] == "Ada Lovelace"
    assert row["lesson"] == "Greetings"
    assert row["locale"] == "en-US"
    assert row["engine"] == "azure"
    assert row["status"] == "succeeded"
    assert (row["pronunciation"], row["accuracy"], row["fluency"]) == ("77.5", "81.2", "70.0")
    assert row["prosody"] == ""  # no score is an empty cell, not "None"
    assert row["created_at"].startswith(scored.created_at.strftime("%Y-%m-%dT"))
    assert by_id[str(failed.public_id)]["pronunciation"] == ""


def test_words_csv_has_one_row_per_word(teacher_client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    WordResultFactory(attempt=attempt, order=0, word="Good", accuracy=95.0)
    WordResultFactory(attempt=attempt, order=1, word="morning", accuracy=40.0,
                      error_type="Mispronunciation", monotone=True)
    other = AttemptFactory(learner=school.other_learner, lesson=school.lesson)
    WordResultFactory(attempt=other, order=0, word="secret")

    header, *body = _download(teacher_client, "teacher-class-export-words", school)

    assert header == [name for name, _ in WORD_COLUMNS]
    assert [row[header.index("word")] for row in body] == ["Good", "morning"]
    second = dict(zip(header, body[1], strict=True))
    assert second["attempt_id"] == str(attempt.public_id)
    assert second["error_type"] == "Mispronunciation"
    assert second["accuracy"] == "40.0"
    assert second["monotone"] == "yes"
    assert second["position"] == "1"


@pytest.mark.parametrize("dangerous", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_text_cells_cannot_become_formulas(teacher_client, school, dangerous):
    school.learner.first_name = dangerous
    school.learner.save()
    school.lesson.title = dangerous
    school.lesson.save()
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson,
                             recognized_text=dangerous)
    WordResultFactory(attempt=attempt, order=0, word=dangerous)

    header, row = _download(teacher_client, "teacher-class-export-attempts", school)
    cells = dict(zip(header, row, strict=True))
    for column in ("learner_name", "lesson", "recognized_text"):
        assert cells[column] == "'" + dangerous, column

    header, row = _download(teacher_client, "teacher-class-export-words", school)
    cells = dict(zip(header, row, strict=True))
    assert cells["word"] == "'" + dangerous
    assert cells["lesson"] == "'" + dangerous


def test_csv_safe_leaves_numbers_and_plain_text_alone():
    assert csv_safe(-3.5) == -3.5
    assert csv_safe("hello = world") == "hello = world"
    assert csv_safe("") == ""
    assert csv_safe("=1") == "'=1"


def test_export_of_a_class_without_learners_is_just_the_header(client, school):
    school.classroom.learners.clear()
    client.force_login(school.teacher)
    rows = _download(client, "teacher-class-export-attempts", school)
    assert rows == [[name for name, _ in ATTEMPT_COLUMNS]]


def test_learner_in_two_classes_is_exported_once_per_class(client, school):
    school.other_classroom.learners.add(school.learner)
    AttemptFactory(learner=school.learner, lesson=school.lesson)
    LearnerFactory()  # a learner in no class is never exported
    client.force_login(school.teacher)
    _, *body = _download(client, "teacher-class-export-attempts", school)
    assert len(body) == 1


def test_words_of_an_attempt_scored_mid_export_are_skipped(school):
    """The attempt columns and the words are two queries: an attempt that is scored in
    between has words but no columns, and is left out instead of failing the download."""
    early = AttemptFactory(learner=school.learner, lesson=school.lesson)
    WordResultFactory(attempt=early, order=0, word="early")

    class WordsScoredInBetween:
        """WordResult.objects, but an attempt is scored just before the words are read."""

        def filter(self, **lookups):
            late = AttemptFactory(learner=school.learner, lesson=school.lesson)
            WordResultFactory(attempt=late, order=0, word="late")
            return WordResult.objects.filter(**lookups)

    rows = list(word_rows(attempts=classroom_attempts(classroom=school.classroom),
                          words=WordsScoredInBetween()))

    assert [(row[0], row[5]) for row in rows] == [(str(early.public_id), "early")]
