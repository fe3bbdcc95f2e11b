"""Selectors and the visibility rule, as the learner and teacher pages use them."""

from __future__ import annotations

import datetime

from assessments import selectors
from assessments.models import Attempt, AttemptStatus
from assessments.permissions import attempt_visible_to, lesson_practicable_by
from tests.factories import (
    AssignmentFactory,
    AttemptFactory,
    ClassroomFactory,
    LearnerFactory,
    LessonFactory,
    PhonemeResultFactory,
    WordResultFactory,
)

# --- Visibility -------------------------------------------------------------------------------


def test_attempt_visibility_by_role(school):
    mine = AttemptFactory(learner=school.learner, lesson=school.lesson)
    theirs = AttemptFactory(learner=school.other_learner, lesson=school.lesson)
    assert set(attempt_visible_to(user=school.learner)) == {mine}
    assert set(attempt_visible_to(user=school.other_learner)) == {theirs}
    assert set(attempt_visible_to(user=school.teacher)) == {mine}
    assert set(attempt_visible_to(user=school.other_teacher)) == {theirs}
    assert set(attempt_visible_to(user=school.admin)) == {mine, theirs}


def test_teacher_sees_a_learner_once_even_through_two_classes(school):
    ClassroomFactory(teachers=[school.teacher], learners=[school.learner])
    AttemptFactory(learner=school.learner, lesson=school.lesson)
    assert attempt_visible_to(user=school.teacher).count() == 1


def test_visibility_narrows_a_given_queryset(school):
    AttemptFactory(learner=school.learner, lesson=school.lesson, status=AttemptStatus.FAILED)
    ok = AttemptFactory(learner=school.learner, lesson=school.lesson)
    queryset = Attempt.objects.filter(status=AttemptStatus.SUCCEEDED)
    assert list(attempt_visible_to(user=school.teacher, queryset=queryset)) == [ok]


def test_inactive_or_anonymous_users_see_nothing(school):
    from django.contrib.auth.models import AnonymousUser

    AttemptFactory(learner=school.learner, lesson=school.lesson)
    assert not attempt_visible_to(user=AnonymousUser()).exists()
    school.learner.is_active = False
    assert not attempt_visible_to(user=school.learner).exists()


def test_lessons_practicable(school):
    unassigned = LessonFactory()
    assert set(lesson_practicable_by(user=school.learner)) == {school.lesson}
    assert unassigned in lesson_practicable_by(user=school.teacher)


# --- Lessons with scores ----------------------------------------------------------------------


def test_lesson_list_for_learner_in_one_query(school, django_assert_num_queries):
    due_soon = LessonFactory(title="Due soon")
    due_later = LessonFactory(title="Due later")
    AssignmentFactory(classroom=school.classroom, lesson=due_later,
                      due_date=datetime.date(2031, 5, 1))
    AssignmentFactory(classroom=school.classroom, lesson=due_soon,
                      due_date=datetime.date(2030, 5, 1))
    # The same lesson in a second class with an earlier due date: listed once, earliest due.
    second = ClassroomFactory(learners=[school.learner])
    AssignmentFactory(classroom=second, lesson=due_later, due_date=datetime.date(2029, 1, 1))
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=70.0)
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=95.0)
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=None,
                   status=AttemptStatus.FAILED)
    with django_assert_num_queries(1):
        lessons = selectors.lesson_list_for_learner(learner=school.learner)
    assert [lesson.title for lesson in lessons] == ["Due later", "Due soon", "Greetings"]
    assert lessons[0].due_date == datetime.date(2029, 1, 1)
    greetings = lessons[2]
    assert greetings.attempt_count == 3
    assert greetings.best_score == 95.0
    assert greetings.latest_score == 95.0
    assert greetings.due_date is None
    assert lessons[0].attempt_count == 0 and lessons[0].best_score is None


def test_overdue_only_without_attempts(school):
    past = LessonFactory(title="Past")
    AssignmentFactory(classroom=school.classroom, lesson=past, due_date=datetime.date(2000, 1, 1))
    lessons = {lesson.title: lesson for lesson in
               selectors.lesson_list_for_learner(learner=school.learner)}
    assert lessons["Past"].is_overdue
    assert not lessons["Greetings"].is_overdue


def test_lessons_with_scores_for_a_class(school):
    """The teacher pages pass class-wide attempts; counts cover every learner given."""
    classmate = LearnerFactory()
    school.classroom.learners.add(classmate)
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=40.0)
    AttemptFactory(learner=classmate, lesson=school.lesson, pronunciation=88.0)
    AttemptFactory(learner=school.other_learner, lesson=school.lesson, pronunciation=99.0)
    attempts = Attempt.objects.filter(learner__learning_classes=school.classroom)
    lesson = selectors.lessons_with_scores(
        lessons=school.classroom.lessons.all(), attempts=attempts
    ).get()
    assert lesson.attempt_count == 2
    assert lesson.best_score == 88.0


# --- Attempts ---------------------------------------------------------------------------------


def test_attempt_list_visible_filters(school):
    first = AttemptFactory(learner=school.learner, lesson=school.lesson)
    other_lesson = LessonFactory()
    AttemptFactory(learner=school.learner, lesson=other_lesson)
    AttemptFactory(learner=school.other_learner, lesson=school.lesson)
    assert list(selectors.attempt_list_visible(user=school.teacher, lesson=school.lesson)) == [
        first
    ]
    assert selectors.attempt_list_visible(user=school.admin, lesson=school.lesson).count() == 2
    assert selectors.attempt_list_visible(
        user=school.admin, learner=school.learner, status=AttemptStatus.FAILED
    ).count() == 0


def test_attempt_get_detail_prefetches_words_and_phonemes(school, django_assert_num_queries):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    for order in range(3):
        word = WordResultFactory(attempt=attempt, order=order, word=f"w{order}")
        for index in range(2):
            PhonemeResultFactory(word=word, order=index, phoneme=f"p{order}{index}")
    with django_assert_num_queries(3):
        found = selectors.attempt_get_detail(
            attempts=attempt_visible_to(user=school.learner), public_id=attempt.public_id
        )
        words = list(found.words.all())
        phonemes = [p.phoneme for w in words for p in w.phonemes.all()]
        assert found.lesson.title == "Greetings"
    assert [w.word for w in words] == ["w0", "w1", "w2"]
    assert phonemes == ["p00", "p01", "p10", "p11", "p20", "p21"]
    assert selectors.attempt_get_detail(
        attempts=attempt_visible_to(user=school.other_learner), public_id=attempt.public_id
    ) is None


# --- Charts -----------------------------------------------------------------------------------


def test_attempt_chart_series_shape_and_order(school):
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=50.0,
                   prosody=None)
    AttemptFactory(learner=school.learner, lesson=school.lesson, status=AttemptStatus.FAILED,
                   pronunciation=None)
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=75.55,
                   prosody=None)
    chart = selectors.attempt_chart_series(attempts=Attempt.objects.all())
    assert chart["type"] == "line" and chart["y_max"] == 100 and chart["stacked"] is False
    assert len(chart["labels"]) == 2 and chart["labels"][0].startswith("#1 ")
    labels = [d["label"] for d in chart["datasets"]]
    # Prosody was never assessed, so it is left out; the headline score comes first.
    assert labels == ["Pronunciation", "Accuracy", "Fluency", "Completeness"]
    assert chart["datasets"][0]["data"] == [50.0, 75.5]


def test_progress_by_lesson_groups_in_one_query(school, django_assert_num_queries):
    second = LessonFactory(title="Second")
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=60.0)
    AttemptFactory(learner=school.learner, lesson=second, pronunciation=70.0)
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=80.0)
    with django_assert_num_queries(1):
        progress = selectors.attempt_progress_by_lesson(
            attempts=Attempt.objects.filter(learner=school.learner)
        )
    by_title = {item.title: item for item in progress}
    assert by_title["Greetings"].attempt_count == 2
    assert by_title["Greetings"].best_score == 80.0
    assert by_title["Greetings"].latest_score == 80.0
    assert by_title["Greetings"].chart["datasets"][0]["data"] == [60.0, 80.0]
    assert by_title["Second"].chart_id == f"chart-lesson-{second.pk}"


# --- Most missed ------------------------------------------------------------------------------


def test_most_missed_words_and_phonemes(school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    later = AttemptFactory(learner=school.learner, lesson=school.lesson)
    WordResultFactory(attempt=attempt, word="Morning", accuracy=40.0,
                      error_type="Mispronunciation")
    WordResultFactory(attempt=later, word="morning", accuracy=85.0)
    WordResultFactory(attempt=later, word="today", accuracy=0.0, error_type="Omission")
    WordResultFactory(attempt=later, word="um", accuracy=None, error_type="Insertion")
    WordResultFactory(attempt=later, word="fine", accuracy=95.0)
    word = WordResultFactory(attempt=attempt, word="good", accuracy=70.0)
    PhonemeResultFactory(word=word, phoneme="uh", accuracy=30.0)
    PhonemeResultFactory(word=word, phoneme="uh", accuracy=50.0)
    PhonemeResultFactory(word=word, phoneme="g", accuracy=90.0)
    PhonemeResultFactory(word=word, phoneme="d", accuracy=55.0)
    other = AttemptFactory(learner=school.other_learner, lesson=school.lesson)
    WordResultFactory(attempt=other, word="secret", accuracy=0.0)

    mine = Attempt.objects.filter(learner=school.learner)
    words = selectors.word_list_most_missed(attempts=mine)
    assert [(w.text, w.misses, w.occurrences) for w in words] == [
        ("today", 1, 1), ("morning", 1, 2)
    ]
    assert words[1].average_accuracy == 62.5
    phonemes = selectors.phoneme_list_most_missed(attempts=mine)
    assert [(p.text, p.misses, p.occurrences) for p in phonemes] == [("uh", 2, 2), ("d", 1, 1)]
    assert selectors.word_list_most_missed(attempts=mine, limit=1)[0].text == "today"
