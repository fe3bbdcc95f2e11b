"""Helpers for the teacher-page tests: a class with many scored attempts, made in bulk."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus, PhonemeResult, WordResult
from assessments.results import ErrorType
from tests.factories import LearnerFactory
from tutor.models import Classroom, Lesson

WORDS = ("good", "morning", "how", "are", "you", "today")
ERRORS = (ErrorType.NONE, ErrorType.NONE, ErrorType.MISPRONUNCIATION, ErrorType.OMISSION,
          ErrorType.NONE, ErrorType.MONOTONE)


@dataclass
class Seeded:
    attempts: int
    words: int
    phonemes: int


def seed_activity(
    *, classroom: Classroom, lesson: Lesson, learners: int, attempts_each: int,
    learner_prefix: str = "seeded",
) -> Seeded:
    """Add ``learners`` learners to ``classroom``, each with ``attempts_each`` scored
    attempts of ``lesson`` spread over past days, every attempt with six words and two
    phonemes per word. Scores vary so best/latest/averages are distinguishable."""
    now = timezone.now()
    made = [LearnerFactory(username=f"{learner_prefix}{i}") for i in range(learners)]
    classroom.learners.add(*made)
    rows = []
    for learner, n in itertools.product(made, range(attempts_each)):
        score = float(50 + (n * 7 + learner.pk) % 50)
        rows.append(Attempt(
            learner=learner, lesson=lesson, reference_text=lesson.reference_text,
            original_audio=f"recordings/{learner.pk}/{n}/original",
            status=AttemptStatus.SUCCEEDED, engine="local",
            accuracy=score, fluency=score - 5, completeness=100.0, prosody=score - 10,
            pronunciation=score,
        ))
    created = Attempt.objects.bulk_create(rows)
    for index, attempt in enumerate(created):
        # created_at is auto_now_add: spread the attempts over past days afterwards.
        attempt.created_at = now - timedelta(days=index % 30, minutes=index)
    Attempt.objects.bulk_update(created, ["created_at"])
    words = WordResult.objects.bulk_create(
        WordResult(attempt=attempt, order=i, word=word.capitalize() if i == 0 else word,
                   accuracy=40.0 if error != ErrorType.NONE else 90.0, error_type=error,
                   unexpected_break=(i == 4))
        for attempt in created
        for i, (word, error) in enumerate(zip(WORDS, ERRORS, strict=True))
    )
    phonemes = PhonemeResult.objects.bulk_create(
        PhonemeResult(attempt_id=word.attempt_id, word=word, order=j, phoneme=ph,
                      accuracy=30.0 if ph == "th" else 95.0)
        for word in words
        for j, ph in enumerate(("th", "ah"))
    )
    return Seeded(attempts=len(created), words=len(words), phonemes=len(phonemes))


@pytest.fixture
def seeded_school(school):
    seed_activity(classroom=school.classroom, lesson=school.lesson, learners=5, attempts_each=10)
    return school

