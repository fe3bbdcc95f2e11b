"""Model factories shared by the whole suite."""

from __future__ import annotations

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from assessments.models import Attempt, AttemptStatus, PhonemeResult, WordResult
from tutor.models import Assignment, Classroom, Lesson, Role, User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.LEARNER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create:
            obj.save()


class LearnerFactory(UserFactory):
    role = Role.LEARNER


class TeacherFactory(UserFactory):
    role = Role.TEACHER


class AdminFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    title = factory.Sequence(lambda n: f"Lesson {n}")
    reference_text = "Good morning, how are you today?"
    order = factory.Sequence(int)


class ClassroomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Classroom
        skip_postgeneration_save = True  # the hooks only add m2m rows

    name = factory.Sequence(lambda n: f"Class {n}")

    @factory.post_generation
    def teachers(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted:
            obj.teachers.add(*extracted)

    @factory.post_generation
    def learners(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted:
            obj.learners.add(*extracted)


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    classroom = factory.SubFactory(ClassroomFactory)
    lesson = factory.SubFactory(LessonFactory)


class AttemptFactory(factory.django.DjangoModelFactory):
    """A finished attempt with scores (no engine run): for pages, charts and permissions."""

    class Meta:
        model = Attempt

    learner = factory.SubFactory(LearnerFactory)
    lesson = factory.SubFactory(LessonFactory)
    reference_text = factory.LazyAttribute(lambda a: a.lesson.reference_text)
    settings_snapshot = factory.LazyAttribute(lambda a: a.lesson.assessment_settings().to_dict())
    original_audio = factory.LazyFunction(lambda: ContentFile(b"RIFF....WAVE", name="original"))
    original_content_type = "audio/wav"
    status = AttemptStatus.SUCCEEDED
    engine = "local"
    accuracy = 80.0
    fluency = 75.0
    completeness = 100.0
    prosody = 70.0
    pronunciation = 78.0
    queued_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)


class WordResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WordResult

    attempt = factory.SubFactory(AttemptFactory)
    order = factory.Sequence(int)
    word = "hello"
    accuracy = 90.0
    offset_ms = 100
    duration_ms = 300


class PhonemeResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhonemeResult

    word = factory.SubFactory(WordResultFactory)
    attempt = factory.LazyAttribute(lambda p: p.word.attempt)
    order = factory.Sequence(int)
    phoneme = "h"
    accuracy = 90.0
