"""Attempts and their stored results, row by row."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from assessments.results import ErrorType
from tutor.models import Lesson


def _original_upload_path(instance: Attempt, filename: str) -> str:
    # Never trust the client's file name for paths: keep only a generated name.
    return f"recordings/{instance.learner_id}/{instance.public_id.hex}/original"


def _wav_upload_path(instance: Attempt, filename: str) -> str:
    return f"recordings/{instance.learner_id}/{instance.public_id.hex}/converted.wav"


class AttemptStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Attempt(models.Model):
    """One recording of one lesson by one learner, and what the engine made of it.

    ``status`` is the single source of truth the pages poll; services in
    ``assessments.services`` are the only code that changes it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="attempts")

    original_audio = models.FileField(upload_to=_original_upload_path, max_length=255)
    original_content_type = models.CharField(max_length=100, blank=True, default="")
    original_size = models.PositiveIntegerField(default=0)
    converted_audio = models.FileField(upload_to=_wav_upload_path, max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    original_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    trimmed = models.BooleanField(default=False)

    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.QUEUED
    )
    failure_code = models.CharField(max_length=64, blank=True, default="")
    failure_message = models.TextField(blank=True, default="")  # shown to the learner
    # For operators (admin, support): what failed and the service's answer. Never shown to
    # learners; never holds keys or tokens (engines redact them before they reach it).
    failure_detail = models.TextField(blank=True, default="")
    tries = models.PositiveSmallIntegerField(default=0)

    engine = models.CharField(max_length=16, blank=True, default="")
    settings_snapshot = models.JSONField(default=dict)
    reference_text = models.TextField()
    # Azure X-ConnectionId of the last request for this attempt, failed or not: support asks.
    connection_id = models.CharField(max_length=32, blank=True, default="")
    raw_response = models.JSONField(null=True, blank=True)
    recognition_status = models.CharField(max_length=32, blank=True, default="")
    recognized_text = models.TextField(blank=True, default="")
    grading_system = models.CharField(max_length=16, default="HundredMark")

    accuracy = models.FloatField(null=True, blank=True)
    fluency = models.FloatField(null=True, blank=True)
    completeness = models.FloatField(null=True, blank=True)
    prosody = models.FloatField(null=True, blank=True)
    pronunciation = models.FloatField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["learner", "lesson", "created_at"]),
            models.Index(fields=["lesson", "created_at"]),
            models.Index(fields=["status", "queued_at"]),
            models.Index(fields=["learner", "status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED)


class WordResult(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="words")
    order = models.PositiveIntegerField()
    word = models.CharField(max_length=100)
    accuracy = models.FloatField(null=True, blank=True)
    error_type = models.CharField(
        max_length=20, choices=[(e, e) for e in ErrorType.ALL], default=ErrorType.NONE
    )
    offset_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    unexpected_break = models.BooleanField(default=False)
    missing_break = models.BooleanField(default=False)
    monotone = models.BooleanField(default=False)
    prosody_feedback = models.JSONField(null=True, blank=True)
    syllables = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("attempt", "order")
        constraints = [
            models.UniqueConstraint(fields=["attempt", "order"], name="unique_word_order")
        ]
        indexes = [models.Index(fields=["error_type"]), models.Index(fields=["word"])]

    def __str__(self) -> str:
        return self.word


class PhonemeResult(models.Model):
    # The attempt is repeated here so class-wide phoneme statistics need no join via words.
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="phonemes")
    word = models.ForeignKey(WordResult, on_delete=models.CASCADE, related_name="phonemes")
    order = models.PositiveIntegerField()
    phoneme = models.CharField(max_length=16)
    accuracy = models.FloatField(null=True, blank=True)
    offset_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    heard = models.CharField(
        max_length=16, blank=True, default="", help_text="Best spoken alternative, when known."
    )

    class Meta:
        ordering = ("word", "order")
        constraints = [
            models.UniqueConstraint(fields=["word", "order"], name="unique_phoneme_order")
        ]
        indexes = [models.Index(fields=["phoneme"])]

    def __str__(self) -> str:
        return self.phoneme
