"""Learner pages: home, practice, progress, and the chart JSON they load."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from assessments import selectors
from assessments.forms import AttemptUploadForm
from assessments.models import Attempt, AttemptStatus
from assessments.permissions import lesson_practicable_by

RECENT_ATTEMPTS = 5


def teacher_home_url() -> str:
    try:
        return reverse("teacher-dashboard")
    except NoReverseMatch:  # the teaching pages are not installed yet
        return "/teach/"


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_teacher or request.user.is_admin_role:
        return redirect(teacher_home_url())
    lessons = selectors.lesson_list_for_learner(learner=request.user)
    return render(request, "assessments/home.html", {"lessons": lessons})


def practice_context(request: HttpRequest, lesson, form: AttemptUploadForm | None = None) -> dict:
    own = Attempt.objects.filter(learner=request.user, lesson=lesson)
    max_seconds = int(settings.AUDIO_MAX_SECONDS)
    return {
        "lesson": lesson,
        # A fresh token per page view makes even the no-JS form safe against a double click;
        # the recorder script replaces it for every new recording.
        "form": form or AttemptUploadForm(initial={"submission_id": uuid.uuid4()}),
        "recent_attempts": own.order_by("-created_at", "-pk")[:RECENT_ATTEMPTS],
        "has_scores": own.filter(status=AttemptStatus.SUCCEEDED).exists(),
        "max_seconds": max_seconds,
        "max_time": f"{max_seconds // 60}:{max_seconds % 60:02d}",
    }


@require_safe
@login_required
def lesson_practice(request: HttpRequest, pk: int) -> HttpResponse:
    lesson = get_object_or_404(lesson_practicable_by(user=request.user), pk=pk)
    return render(request, "assessments/practice.html", practice_context(request, lesson))


@require_safe
@login_required
def progress(request: HttpRequest) -> HttpResponse:
    own = Attempt.objects.filter(learner=request.user)
    lessons = selectors.attempt_progress_by_lesson(attempts=own)
    context = {
        "lessons": lessons,
        "missed_words": selectors.word_list_most_missed(attempts=own),
        "missed_phonemes": selectors.phoneme_list_most_missed(attempts=own),
    }
    return render(request, "assessments/progress.html", context)


@require_safe
@login_required
def progress_lesson_chart(request: HttpRequest, pk: int) -> JsonResponse:
    """The signed-in user's own scores on one lesson, in the charts.js JSON shape."""
    lesson = get_object_or_404(lesson_practicable_by(user=request.user), pk=pk)
    own = Attempt.objects.filter(learner=request.user, lesson=lesson)
    response = JsonResponse(selectors.attempt_chart_series(attempts=own))
    response["Cache-Control"] = "private, no-cache"
    return response
