"""Learner-facing views; each module stays small (pages, attempts, audio)."""

from assessments.views.attempts import attempt_detail, attempt_status, attempt_upload
from assessments.views.audio import attempt_audio
from assessments.views.pages import home, lesson_practice, progress, progress_lesson_chart

__all__ = [
    "attempt_audio",
    "attempt_detail",
    "attempt_status",
    "attempt_upload",
    "home",
    "lesson_practice",
    "progress",
    "progress_lesson_chart",
]
