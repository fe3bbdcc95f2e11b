"""People, lessons, classes and assignments."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models

from assessments.engines.base import (
    DIMENSIONS,
    GRADING_SYSTEMS,
    GRANULARITIES,
    SUPPORTED_LOCALES,
    AssessmentSettings,
)


class Role(models.TextChoices):
    LEARNER = "learner", "Learner"
    TEACHER = "teacher", "Teacher"
    ADMIN = "admin", "Admin"


class RoleUserManager(UserManager):
    """``createsuperuser`` makes an admin by role; the flags then follow from it on save."""

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None,
        **extra_fields: object,
    ) -> User:
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person using the product; ``role`` is the one mechanism that decides what they see.

    Django's own ``is_staff`` / ``is_superuser`` flags (which open the admin site and grant
    every permission) are derived from the role on every save, never set on their own: an
    admin is staff and superuser, nobody else is either. So no path — the admin's user
    form, a shell, ``createsuperuser`` — can leave a user whose flags and role disagree.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LEARNER)

    objects = RoleUserManager()

    def save(self, *args: object, **kwargs: object) -> None:
        self.apply_role_flags()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            # A save of just the role must also store the flags it implies.
            kwargs["update_fields"] = {*update_fields, "is_staff", "is_superuser"}
        super().save(*args, **kwargs)

    def apply_role_flags(self) -> None:
        """Set ``is_staff`` and ``is_superuser`` from ``role`` (both for admins, else neither)."""
        is_admin = self.role == Role.ADMIN
        self.is_staff = is_admin
        self.is_superuser = is_admin

    @property
    def is_learner(self) -> bool:
        return self.role == Role.LEARNER

    @property
    def is_teacher(self) -> bool:
        return self.role == Role.TEACHER

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


class Lesson(models.Model):
    """A prompt to read aloud plus the settings it is assessed with."""

    class PhonemeAlphabet(models.TextChoices):
        DEFAULT = "", "Default (SAPI)"
        SAPI = "SAPI", "SAPI"
        IPA = "IPA", "IPA"

    title = models.CharField(max_length=200)
    reference_text = models.TextField(
        help_text="What the learner reads aloud. Keep it under about 30 seconds of speech."
    )
    locale = models.CharField(max_length=10, choices=_choices(SUPPORTED_LOCALES), default="en-US")
    grading_system = models.CharField(
        max_length=16, choices=_choices(GRADING_SYSTEMS), default="HundredMark"
    )
    granularity = models.CharField(
        max_length=16, choices=_choices(GRANULARITIES), default="Phoneme"
    )
    dimension = models.CharField(
        max_length=16, choices=_choices(DIMENSIONS), default="Comprehensive"
    )
    enable_miscue = models.BooleanField(
        default=True, help_text="Report omitted and inserted words."
    )
    enable_prosody = models.BooleanField(
        default=True, help_text="Assess stress, intonation and rhythm (en-US only)."
    )
    phoneme_alphabet = models.CharField(
        max_length=8, choices=PhonemeAlphabet.choices, blank=True, default=""
    )
    nbest_phoneme_count = models.PositiveSmallIntegerField(
        default=0, help_text="Spoken-phoneme candidates to return per phoneme (en-US only)."
    )
    scenario_id = models.CharField(max_length=64, blank=True, default="")
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("order", "title")
        indexes = [models.Index(fields=["is_active", "order"])]

    def __str__(self) -> str:
        return self.title

    def assessment_settings(self) -> AssessmentSettings:
        return AssessmentSettings(
            reference_text=self.reference_text,
            locale=self.locale,
            grading_system=self.grading_system,
            granularity=self.granularity,
            dimension=self.dimension,
            enable_miscue=self.enable_miscue,
            enable_prosody=self.enable_prosody,
            phoneme_alphabet=self.phoneme_alphabet,
            nbest_phoneme_count=self.nbest_phoneme_count,
            scenario_id=self.scenario_id,
        )

    def clean(self) -> None:
        from assessments.engines import engine_problems  # imported late: it loads engine code

        assessment = self.assessment_settings()
        problems = assessment.problems()
        if not problems and self.is_active:
            # An inactive lesson may be prepared before the engine that can score it exists.
            problems = engine_problems(assessment)
        if problems:
            raise ValidationError(problems)


class Classroom(models.Model):
    """A class: one or more teachers and the learners they follow."""

    name = models.CharField(max_length=200)
    teachers = models.ManyToManyField(User, related_name="teaching_classes", blank=True)
    learners = models.ManyToManyField(User, related_name="learning_classes", blank=True)
    lessons = models.ManyToManyField(
        Lesson, through="Assignment", related_name="classrooms", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """A lesson set for a class, optionally with a due date."""

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="assignments")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="assignments")
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("due_date", "lesson__order")
        constraints = [
            models.UniqueConstraint(fields=["classroom", "lesson"], name="unique_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.lesson} → {self.classroom}"
