"""Learner pages, uploads, polling and audio: behaviour and who may see what."""

from __future__ import annotations

import datetime
import io
import json
import uuid
import wave

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assessments.models import Attempt, AttemptStatus
from tests.factories import (
    AssignmentFactory,
    AttemptFactory,
    LessonFactory,
    PhonemeResultFactory,
    WordResultFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def tiny_wav(seconds: float = 0.5, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x10" * int(seconds * rate))
    return buffer.getvalue()


def wav_upload(name: str = "take.wav", content_type: str = "audio/wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, tiny_wav(), content_type=content_type)



@pytest.fixture
def learner_client(client, school):
    client.force_login(school.learner)
    return client


def upload_url(lesson) -> str:
    return reverse("attempt-upload", args=[lesson.pk])


# --- Home ---------------------------------------------------------------------------------


def test_home_requires_login(client, db, settings):
    settings.LOGIN_URL = "/accounts/login/"
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_home_lists_lessons_with_scores_due_first(
    learner_client, school, django_assert_max_num_queries
):
    later = LessonFactory(title="Later lesson", order=0)
    AssignmentFactory(classroom=school.classroom, lesson=later,
                      due_date=datetime.date(2030, 1, 1))
    LessonFactory(title="Not my lesson")
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=60.0)
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=90.0)
    AttemptFactory(learner=school.other_learner, lesson=school.lesson, pronunciation=10.0)
    with django_assert_max_num_queries(6):
        response = learner_client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not my lesson" not in html
    # The assignment with a due date comes first.
    assert html.index("Later lesson") < html.index("Greetings")
    assert "Due 1 Jan 2030" in html
    lessons = {lesson.title: lesson for lesson in response.context["lessons"]}
    assert lessons["Greetings"].attempt_count == 2
    assert lessons["Greetings"].best_score == 90.0
    assert lessons["Greetings"].latest_score == 90.0


def test_home_query_count_does_not_grow_with_lessons(learner_client, school,
                                                     django_assert_max_num_queries):
    for index in range(8):
        lesson = LessonFactory(title=f"Extra {index}")
        AssignmentFactory(classroom=school.classroom, lesson=lesson)
        AttemptFactory(learner=school.learner, lesson=lesson)
    with django_assert_max_num_queries(6):
        response = learner_client.get(reverse("home"))
    assert len(response.context["lessons"]) == 9


@pytest.mark.parametrize("who", ["teacher", "admin"])
def test_home_sends_teachers_and_admins_to_the_teaching_pages(client, school, who):
    client.force_login(getattr(school, who))
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith("/teach/")


def test_base_layout_nav_and_csrf_header(learner_client):
    html = learner_client.get(reverse("home")).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "htmx" in html and "<script src=\"/static/django_htmx/" in html
    assert 'href="/progress/"' in html
    assert "Teaching" not in html
    assert 'method="post"' in html and "Log out" in html


def test_teacher_sees_teaching_link(client, school):
    client.force_login(school.teacher)
    html = client.get(reverse("progress")).content.decode()
    assert "Teaching" in html and 'href="/teach/' in html
    assert ">My progress</a>" not in html


def test_pages_have_no_inline_scripts_or_styles(learner_client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    WordResultFactory(attempt=attempt, word="good", accuracy=50.0)
    for url in (reverse("home"), reverse("lesson-practice", args=[school.lesson.pk]),
                reverse("attempt-detail", args=[attempt.public_id]), reverse("progress")):
        html = learner_client.get(url).content.decode()
        assert " style=" not in html, url
        assert "<style" not in html, url
        for chunk in html.split("<script")[1:]:
            attrs = chunk.split(">", 1)[0]
            assert "src=" in attrs or 'type="application/json"' in attrs, (url, attrs)


# --- Practice -------------------------------------------------------------------------------


def test_practice_page_shows_text_recorder_and_upload_form(learner_client, school):
    response = learner_client.get(reverse("lesson-practice", args=[school.lesson.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Good morning, how are you today?" in html
    assert "data-recorder" in html and 'data-action="record"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'name="submission_id"' in html
    assert 'aria-live="polite"' in html
    assert "js/recorder.js" in html


def test_practice_page_404_for_unassigned_or_inactive_lesson(learner_client, school):
    unassigned = LessonFactory()
    inactive = LessonFactory(is_active=False)
    AssignmentFactory(classroom=school.classroom, lesson=inactive)
    for lesson in (unassigned, inactive):
        assert learner_client.get(reverse("lesson-practice", args=[lesson.pk])).status_code == 404


# --- Upload ---------------------------------------------------------------------------------


def test_plain_form_upload_creates_attempt_and_redirects(learner_client, school):
    response = learner_client.post(upload_url(school.lesson), {"audio": wav_upload()})
    attempt = Attempt.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("attempt-detail", args=[attempt.public_id])
    assert attempt.learner == school.learner
    assert attempt.status == AttemptStatus.QUEUED
    assert attempt.original_content_type == "audio/wav"


def test_script_upload_answers_with_polling_fragment(learner_client, school):
    response = learner_client.post(
        upload_url(school.lesson),
        {"audio": wav_upload("recording.webm", "audio/webm"),
         "mime_type": "audio/webm;codecs=opus", "submission_id": str(uuid.uuid4())},
        **HTMX,
    )
    assert response.status_code == 202
    attempt = Attempt.objects.get()
    assert attempt.original_content_type == "audio/webm;codecs=opus"
    html = response.content.decode()
    status_url = reverse("attempt-status", args=[attempt.public_id])
    assert f'hx-get="{status_url}?seen=queued"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'id="attempt-live" hx-swap-oob="innerHTML"' in html


def test_upload_ignores_a_bogus_mime_label(learner_client, school):
    learner_client.post(upload_url(school.lesson),
                        {"audio": wav_upload(), "mime_type": "text/html<script>"})
    assert Attempt.objects.get().original_content_type == "audio/wav"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose a recording"),
        ({"audio": SimpleUploadedFile("empty.webm", b"", content_type="audio/webm")},
         "empty"),
        ({"audio": SimpleUploadedFile("notes.txt", b"hello there, not audio at all",
                                      content_type="audio/webm")},
         "couldn&#x27;t read that file as audio"),
    ],
)
def test_bad_uploads_get_400_with_learner_message(learner_client, school, data, message):
    response = learner_client.post(upload_url(school.lesson), data, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not Attempt.objects.exists()


def test_bad_upload_without_script_rerenders_the_page(learner_client, school):
    response = learner_client.post(
        upload_url(school.lesson),
        {"audio": SimpleUploadedFile("x.bin", b"\x00" * 64, content_type="audio/wav")},
    )
    assert response.status_code == 400
    assert "Good morning, how are you today?" in response.content.decode()
    assert "couldn&#x27;t read that file" in response.content.decode()


def test_too_large_upload_is_refused(learner_client, school, settings):
    settings.AUDIO_MAX_UPLOAD_BYTES = 1000
    response = learner_client.post(upload_url(school.lesson), {"audio": wav_upload()}, **HTMX)
    assert response.status_code == 400
    assert "too large" in response.content.decode()


def test_upload_rate_limit_per_user(learner_client, school, settings, client):
    settings.UPLOADS_PER_MINUTE = 2
    for _ in range(2):
        assert learner_client.post(upload_url(school.lesson),
                                   {"audio": wav_upload()}).status_code == 302
    response = learner_client.post(upload_url(school.lesson), {"audio": wav_upload()}, **HTMX)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert "try again in a minute" in response.content.decode()
    assert Attempt.objects.count() == 2
    # Another learner has their own allowance.
    client.force_login(school.other_learner)
    assert client.post(upload_url(school.lesson), {"audio": wav_upload()}).status_code == 302


def test_duplicate_submission_returns_the_same_attempt(learner_client, school):
    token = str(uuid.uuid4())
    first = learner_client.post(upload_url(school.lesson),
                                {"audio": wav_upload(), "submission_id": token})
    second = learner_client.post(upload_url(school.lesson),
                                 {"audio": wav_upload(), "submission_id": token})
    assert Attempt.objects.count() == 1
    assert first.url == second.url
    third = learner_client.post(upload_url(school.lesson),
                                {"audio": wav_upload(), "submission_id": str(uuid.uuid4())})
    assert third.status_code == 302
    assert Attempt.objects.count() == 2


def test_refused_upload_releases_its_token(learner_client, school):
    token = str(uuid.uuid4())
    bad = SimpleUploadedFile("x", b"nope" * 20, content_type="audio/wav")
    assert learner_client.post(upload_url(school.lesson),
                               {"audio": bad, "submission_id": token}).status_code == 400
    retry = learner_client.post(upload_url(school.lesson),
                                {"audio": wav_upload(), "submission_id": token})
    assert retry.status_code == 302
    assert Attempt.objects.count() == 1


def test_duplicate_while_first_is_still_saving_gets_409(learner_client, school, monkeypatch):
    from django.core.cache import cache

    from assessments.views import _uploads

    monkeypatch.setattr(_uploads, "SUBMISSION_WAIT_SECONDS", 0)
    token = uuid.uuid4()
    cache.set(f"uploads:submission:{school.learner.pk}:{token.hex}", _uploads.PENDING)
    response = learner_client.post(upload_url(school.lesson),
                                   {"audio": wav_upload(), "submission_id": str(token)}, **HTMX)
    assert response.status_code == 409
    assert "still being sent" in response.content.decode()
    assert not Attempt.objects.exists()


def test_token_of_a_deleted_attempt_makes_a_new_one(learner_client, school):
    token = str(uuid.uuid4())
    learner_client.post(upload_url(school.lesson), {"audio": wav_upload(), "submission_id": token})
    Attempt.objects.all().delete()
    response = learner_client.post(upload_url(school.lesson),
                                   {"audio": wav_upload(), "submission_id": token})
    assert response.status_code == 302
    assert Attempt.objects.count() == 1


def test_submission_tokens_are_per_user(client, school):
    token = str(uuid.uuid4())
    client.force_login(school.learner)
    client.post(upload_url(school.lesson), {"audio": wav_upload(), "submission_id": token})
    client.force_login(school.other_learner)
    client.post(upload_url(school.lesson), {"audio": wav_upload(), "submission_id": token})
    assert Attempt.objects.filter(learner=school.other_learner).count() == 1


def test_upload_to_unassigned_lesson_is_404_and_get_is_405(learner_client, school):
    assert learner_client.post(upload_url(LessonFactory()),
                               {"audio": wav_upload()}).status_code == 404
    assert learner_client.get(upload_url(school.lesson)).status_code == 405


# --- Attempt detail, status, permissions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("learner", 200), ("teacher", 200), ("admin", 200),
     ("other_learner", 404), ("other_teacher", 404)],
)
def test_attempt_detail_and_audio_visibility(client, school, who, status):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    client.force_login(getattr(school, who))
    assert client.get(reverse("attempt-detail", args=[attempt.public_id])).status_code == status
    assert client.get(reverse("attempt-audio", args=[attempt.public_id])).status_code == status
    poll = client.get(reverse("attempt-status", args=[attempt.public_id]), **HTMX)
    assert poll.status_code == (286 if status == 200 else 404)


def test_attempt_pages_need_login(client, school, settings):
    settings.LOGIN_URL = "/accounts/login/"
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    for name in ("attempt-detail", "attempt-audio"):
        response = client.get(reverse(name, args=[attempt.public_id]))
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_unknown_attempt_is_404(learner_client):
    assert learner_client.get(reverse("attempt-detail", args=[uuid.uuid4()])).status_code == 404


def test_teacher_view_has_no_try_again_and_names_the_learner(client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    client.force_login(school.teacher)
    html = client.get(reverse("attempt-detail", args=[attempt.public_id])).content.decode()
    assert "Try again" not in html
    assert school.learner.display_name in html


def test_result_page_shows_scores_words_and_phonemes(learner_client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    word = WordResultFactory(attempt=attempt, word="morning", accuracy=55.0,
                             error_type="Mispronunciation", offset_ms=400, duration_ms=350)
    PhonemeResultFactory(word=word, phoneme="ao", accuracy=40.0, heard="aa")
    response = learner_client.get(reverse("attempt-detail", args=[attempt.public_id]))
    html = response.content.decode()
    for label in ("Pronunciation", "Accuracy", "Fluency", "Prosody", "Completeness"):
        assert label in html
    assert 'data-offset-ms="400" data-duration-ms="350"' in html
    assert "<th scope=\"row\">ao</th>" in html and "<td>aa</td>" in html
    assert reverse("attempt-audio", args=[attempt.public_id]) in html
    assert "Try again" in html
    assert "Listen to the model" in html


def test_failed_attempt_shows_learner_message_and_keeps_recording(learner_client, school):
    attempt = AttemptFactory(
        learner=school.learner, lesson=school.lesson, status=AttemptStatus.FAILED,
        failure_code="no_speech", failure_message="We couldn't hear any speech.",
        accuracy=None, fluency=None, completeness=None, prosody=None, pronunciation=None,
    )
    html = learner_client.get(reverse("attempt-detail", args=[attempt.public_id])).content.decode()
    assert "We couldn&#x27;t hear any speech." in html
    assert reverse("attempt-audio", args=[attempt.public_id]) in html
    assert "Try again" in html


def test_status_poll_states(learner_client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson,
                             status=AttemptStatus.QUEUED, finished_at=None)
    url = reverse("attempt-status", args=[attempt.public_id])
    pending = learner_client.get(url, **HTMX)
    assert pending.status_code == 200
    assert "Waiting to be scored" in pending.content.decode()
    assert 'hx-trigger="every 1s"' in pending.content.decode()
    assert pending["Vary"] and "HX-Request" in pending["Vary"]
    # Nothing changed since the last poll: no content, so nothing is re-announced.
    assert learner_client.get(url + "?seen=queued", **HTMX).status_code == 204
    Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.PROCESSING)
    processing = learner_client.get(url + "?seen=queued", **HTMX)
    assert processing.status_code == 200
    assert "Scoring your recording" in processing.content.decode()
    Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.SUCCEEDED)
    done = learner_client.get(url + "?seen=processing", **HTMX)
    assert done.status_code == 286
    html = done.content.decode()
    assert "Your result" in html and "hx-trigger" not in html
    assert "Your result is ready: pronunciation 78 out of 100." in html


def test_status_without_htmx_redirects_to_detail(learner_client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    response = learner_client.get(reverse("attempt-status", args=[attempt.public_id]))
    assert response.status_code == 302
    assert response.url == reverse("attempt-detail", args=[attempt.public_id])


# --- Audio ------------------------------------------------------------------------------------


@pytest.fixture
def audio_attempt(school):
    return AttemptFactory(
        learner=school.learner, lesson=school.lesson,
        original_audio=ContentFile(bytes(range(256)) * 4, name="original"),
        original_content_type="audio/webm;codecs=opus",
    )


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_audio_serves_original_with_its_type_and_accepts_ranges(learner_client, audio_attempt):
    response = learner_client.get(reverse("attempt-audio", args=[audio_attempt.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/webm"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == "1024"
    assert "private" in response["Cache-Control"]
    assert body(response) == bytes(range(256)) * 4


def test_audio_range_requests(learner_client, audio_attempt):
    url = reverse("attempt-audio", args=[audio_attempt.public_id])
    partial = learner_client.get(url, HTTP_RANGE="bytes=10-19")
    assert partial.status_code == 206
    assert partial["Content-Range"] == "bytes 10-19/1024"
    assert partial["Content-Length"] == "10"
    assert body(partial) == bytes(range(10, 20))
    open_ended = learner_client.get(url, HTTP_RANGE="bytes=1000-")
    assert open_ended.status_code == 206 and body(open_ended) == bytes(range(232, 256))
    suffix = learner_client.get(url, HTTP_RANGE="bytes=-4")
    assert suffix["Content-Range"] == "bytes 1020-1023/1024"
    unsatisfiable = learner_client.get(url, HTTP_RANGE="bytes=5000-")
    assert unsatisfiable.status_code == 416
    assert unsatisfiable["Content-Range"] == "bytes */1024"
    several = learner_client.get(url, HTTP_RANGE="bytes=0-1,5-6")
    assert several.status_code == 200


def test_audio_head_request(learner_client, audio_attempt):
    response = learner_client.head(reverse("attempt-audio", args=[audio_attempt.public_id]))
    assert response.status_code == 200
    assert response["Content-Length"] == "1024"
    assert response["Accept-Ranges"] == "bytes"


def test_audio_if_range_mismatch_serves_whole_file(learner_client, audio_attempt):
    response = learner_client.get(reverse("attempt-audio", args=[audio_attempt.public_id]),
                                  HTTP_RANGE="bytes=0-9",
                                  HTTP_IF_RANGE="Wed, 21 Oct 2015 07:28:00 GMT")
    assert response.status_code == 200
    assert response["Content-Length"] == "1024"


def test_audio_prefers_converted_wav(learner_client, audio_attempt):
    audio_attempt.converted_audio.save("converted.wav", ContentFile(tiny_wav()), save=True)
    response = learner_client.get(reverse("attempt-audio", args=[audio_attempt.public_id]))
    assert response["Content-Type"] == "audio/wav"
    assert body(response)[:4] == b"RIFF"


def test_audio_missing_file_is_404(learner_client, audio_attempt):
    audio_attempt.original_audio.storage.delete(audio_attempt.original_audio.name)
    url = reverse("attempt-audio", args=[audio_attempt.public_id])
    assert learner_client.get(url).status_code == 404


def test_audio_is_never_linked_through_media_url(learner_client, audio_attempt):
    html = learner_client.get(
        reverse("attempt-detail", args=[audio_attempt.public_id])
    ).content.decode()
    assert "/media/" not in html


# --- Progress ---------------------------------------------------------------------------------


def test_progress_page_charts_tables_and_misses(learner_client, school,
                                                django_assert_max_num_queries):
    for score in (50.0, 70.0, 85.0):
        attempt = AttemptFactory(learner=school.learner, lesson=school.lesson,
                                 pronunciation=score)
        word = WordResultFactory(attempt=attempt, word="Morning", accuracy=40.0)
        PhonemeResultFactory(word=word, phoneme="r", accuracy=30.0)
    other = AttemptFactory(learner=school.other_learner, lesson=school.lesson)
    WordResultFactory(attempt=other, word="secretword", accuracy=10.0)
    with django_assert_max_num_queries(8):
        response = learner_client.get(reverse("progress"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-chart-json="chart-lesson-' in html
    assert 'type="application/json"' in html
    assert "Show as a table" in html
    assert "morning" in html and "secretword" not in html
    assert "3 of 3" in html
    chart = response.context["lessons"][0].chart
    assert chart["datasets"][0]["label"] == "Pronunciation"
    assert chart["datasets"][0]["data"] == [50.0, 70.0, 85.0]


def test_progress_query_count_does_not_grow_with_lessons(learner_client, school,
                                                         django_assert_max_num_queries):
    for index in range(6):
        lesson = LessonFactory(title=f"L{index}")
        AttemptFactory.create_batch(2, learner=school.learner, lesson=lesson)
    with django_assert_max_num_queries(8):
        response = learner_client.get(reverse("progress"))
    assert len(response.context["lessons"]) == 6


def test_progress_empty_state(learner_client):
    assert "No scored attempts yet" in learner_client.get(reverse("progress")).content.decode()


def test_lesson_chart_json(learner_client, school):
    AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=64.0)
    AttemptFactory(learner=school.other_learner, lesson=school.lesson, pronunciation=11.0)
    response = learner_client.get(reverse("progress-lesson-chart", args=[school.lesson.pk]))
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert set(data) == {"type", "labels", "datasets", "y_max", "stacked"}
    assert data["type"] == "line" and data["y_max"] == 100
    assert data["datasets"][0] == {"label": "Pronunciation", "data": [64.0]}
    assert learner_client.get(
        reverse("progress-lesson-chart", args=[LessonFactory().pk])
    ).status_code == 404


def test_a_teacher_reads_the_learners_result_not_their_own(client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson,
                             status=AttemptStatus.SUCCEEDED, pronunciation=78.0)
    client.force_login(school.teacher)
    html = client.get(reverse("attempt-detail", args=[attempt.public_id])).content.decode()
    assert f"{school.learner.display_name}’s result" in html
    assert "Your result" not in html
    assert "Download the recording" in html
    client.force_login(school.learner)
    html = client.get(reverse("attempt-detail", args=[attempt.public_id])).content.decode()
    assert "Your result" in html and "Download your recording" in html


# --- Notices on the result ----------------------------------------------------------------

NOISY_MESSAGE = (
    "There was a lot of background noise, so missing or extra words could not be checked. "
    "Try again somewhere quieter for a full check."
)


def _notice_box(html: str) -> str:
    import re

    found = re.search(r'<div class="notice result-notices" role="status">(.*?)</div>', html, re.S)
    assert found, "no notice box on the result page"
    return found.group(1)


@pytest.mark.parametrize("who", ["learner", "teacher"])
def test_result_page_shows_the_stored_notices_politely(client, school, who):
    from assessments.results import AssessmentResult, Notice, NoticeCode
    from assessments.services import attempt_store_result

    attempt = AttemptFactory(
        learner=school.learner, lesson=school.lesson, status=AttemptStatus.PROCESSING
    )
    result = AssessmentResult(
        engine="local", accuracy=80.0,
        notices=[Notice(code=NoticeCode.MISCUE_UNCHECKED_NOISY, message=NOISY_MESSAGE)],
    )
    attempt_store_result(attempt_id=attempt.pk, result=result)
    attempt.refresh_from_db()
    assert attempt.raw_response["notices"] == [
        {"code": "miscue_unchecked_noisy", "message": NOISY_MESSAGE}
    ]

    client.force_login(getattr(school, who))
    html = client.get(reverse("attempt-detail", args=[attempt.public_id])).content.decode()
    box = _notice_box(html)
    assert 'data-notice="miscue_unchecked_noisy"' in box
    assert "There was a lot of background noise" in box and "somewhere quieter" in box
    assert html.index("result-notices") < html.index('id="scores-heading"')


def test_result_page_without_notices_has_no_notice_box(learner_client, school):
    stored_before_notices = {"engine": "local", "recognition_status": "Success", "words": []}
    for raw_response in (None, stored_before_notices, {**stored_before_notices, "notices": []}):
        attempt = AttemptFactory(
            learner=school.learner, lesson=school.lesson, raw_response=raw_response
        )
        html = learner_client.get(
            reverse("attempt-detail", args=[attempt.public_id])
        ).content.decode()
        assert "result-notices" not in html
        assert "Your result" in html


def test_a_teacher_polling_an_attempt_is_not_told_it_is_theirs(client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson,
                             status=AttemptStatus.SUCCEEDED, pronunciation=64.0)
    client.force_login(school.teacher)
    url = reverse("attempt-status", args=[attempt.public_id]) + "?seen=processing"
    html = client.get(url, **HTMX).content.decode()
    assert "The result is ready: pronunciation 64 out of 100." in html
    assert "Your result" not in html
