"""Teacher pages: dashboard, class view, learner history, chart JSON and CSV exports.

Thin by design: each view finds the class through ``classrooms_visible_to`` (so a class the
user may not see is a 404), calls selectors and renders. Learners and anonymous users never
get further than the decorators.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from assessments.selectors import (
    attempt_chart_series,
    phoneme_list_most_missed,
    word_list_most_missed,
)
from tutor.exports import attempts_csv_response, words_csv_response
from tutor.forms import HistoryFilterForm
from tutor.models import Classroom, User
from tutor.permissions import classrooms_visible_to, user_can_teach
from tutor.selectors import (
    INSIGHT_DAYS,
    classroom_attempts,
    classroom_grid,
    classroom_recent_scored_attempts,
    classroom_summaries_for_user,
    error_breakdown,
    learner_attempts,
    learner_history_page_rows,
    lessons_for_history_filter,
    score_series_weekly,
)

HISTORY_PAGE_SIZE = 25
# The sortable history columns, in table order (keys of selectors.HISTORY_ORDERINGS).
SORT_COLUMNS = [
    ("date", "Date"),
    ("lesson", "Lesson"),
    ("pronunciation", "Pronunciation"),
    ("accuracy", "Accuracy"),
    ("fluency", "Fluency"),
    ("completeness", "Completeness"),
    ("prosody", "Prosody"),
]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _classroom_or_404(request: HttpRequest, pk: int) -> Classroom:
    return get_object_or_404(classrooms_visible_to(user=request.user), pk=pk)


def _learner_or_404(request: HttpRequest, class_pk: int, pk: int) -> tuple[Classroom, User]:
    classroom = _classroom_or_404(request, class_pk)
    return classroom, get_object_or_404(classroom.learners.all(), pk=pk)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    # The one page that is not about a particular object: a learner is refused (403), not
    # shown an empty dashboard they could mistake for a bug.
    if not user_can_teach(request.user):
        raise PermissionDenied("The teacher dashboard is for teachers.")
    summaries = classroom_summaries_for_user(user=request.user)
    return render(request, "tutor/dashboard.html", {"summaries": summaries})


@login_required
@require_GET
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = _classroom_or_404(request, pk)
    recent = classroom_recent_scored_attempts(classroom=classroom)
    # The weekly score chart reads the class's whole half-year; it is fetched by the page
    # (teacher-class-chart-scores) so the table and insight below are not held up by it.
    context = {
        "classroom": classroom,
        "grid": classroom_grid(classroom=classroom),
        "insight_days": INSIGHT_DAYS,
        "errors_caption": f"Words with each kind of error in the last {INSIGHT_DAYS} days",
        "errors_chart": error_breakdown(attempts=recent),
        "missed_words": word_list_most_missed(attempts=recent),
        "missed_phonemes": phoneme_list_most_missed(attempts=recent),
    }
    return render(request, "tutor/class_detail.html", context)


@login_required
@require_GET
def class_chart_scores(request: HttpRequest, pk: int) -> JsonResponse:
    classroom = _classroom_or_404(request, pk)
    return JsonResponse(score_series_weekly(attempts=classroom_attempts(classroom=classroom)))


@login_required
@require_GET
def class_scores_weekly(request: HttpRequest, pk: int) -> HttpResponse:
    """The weekly chart's figures as an HTML table, for browsers without JavaScript.

    A page of its own rather than part of the class view: the series reads the class's
    whole half-year, which would take the class view past its time budget.
    """
    classroom = _classroom_or_404(request, pk)
    chart = score_series_weekly(attempts=classroom_attempts(classroom=classroom))
    return render(request, "tutor/class_scores_weekly.html",
                  {"classroom": classroom, "chart": chart})


@login_required
@require_GET
def class_chart_errors(request: HttpRequest, pk: int) -> JsonResponse:
    classroom = _classroom_or_404(request, pk)
    return JsonResponse(
        error_breakdown(attempts=classroom_recent_scored_attempts(classroom=classroom))
    )


def _history(request: HttpRequest, classroom: Classroom, learner: User) -> dict:
    form = HistoryFilterForm(
        request.GET or None, lessons=lessons_for_history_filter(classroom=classroom)
    )
    filters = form.cleaned_data if form.is_valid() else {}
    lesson = filters.get("lesson")
    attempts = learner_attempts(
        learner=learner,
        classroom=classroom,
        lesson_id=lesson.pk if lesson else None,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    sort = filters.get("sort") or "-date"
    rows = learner_history_page_rows(attempts=attempts, sort=sort)
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "form": form, "attempts": attempts, "page": page, "sort": sort,
        "sort_columns": SORT_COLUMNS,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def learner_detail(request: HtmxHttpRequest, class_pk: int, pk: int) -> HttpResponse:
    classroom, learner = _learner_or_404(request, class_pk, pk)
    history = _history(request, classroom, learner)
    context = {"classroom": classroom, "learner": learner, **history}
    if request.htmx:
        # Sorting and paging swap only the table; the filters and chart stay as they are.
        return render(request, "tutor/partials/history_table.html", context)
    context["scores_chart"] = attempt_chart_series(attempts=history["attempts"])
    return render(request, "tutor/learner_detail.html", context)


@login_required
@require_GET
def learner_chart_scores(request: HttpRequest, class_pk: int, pk: int) -> JsonResponse:
    classroom, learner = _learner_or_404(request, class_pk, pk)
    return JsonResponse(attempt_chart_series(attempts=_history(request, classroom, learner)[
        "attempts"]))


def _filename(classroom: Classroom, kind: str) -> str:
    return f"class-{classroom.pk}-{kind}-{date.today():%Y%m%d}.csv"


@login_required
@require_GET
def class_export_attempts(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    classroom = _classroom_or_404(request, pk)
    return attempts_csv_response(
        attempts=classroom_attempts(classroom=classroom),
        filename=_filename(classroom, "attempts"),
    )


@login_required
@require_GET
def class_export_words(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    classroom = _classroom_or_404(request, pk)
    return words_csv_response(
        attempts=classroom_attempts(classroom=classroom),
        filename=_filename(classroom, "words"),
    )
