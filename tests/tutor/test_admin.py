"""Admin: lesson validation and CSV import, classes, users and the read-only attempts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assessments.models import Attempt, AttemptStatus
from tests.factories import AttemptFactory, WordResultFactory
from tutor.models import Lesson


@pytest.fixture
def admin_client(client, school):
    client.force_login(school.admin)
    return client


@pytest.mark.parametrize(
    "url_name",
    ["admin:tutor_user_changelist", "admin:tutor_lesson_changelist",
     "admin:tutor_classroom_changelist", "admin:assessments_attempt_changelist",
     "admin:tutor_lesson_import", "admin:tutor_classroom_add", "admin:tutor_lesson_add"],
)
def test_admin_pages_open(admin_client, url_name):
    assert admin_client.get(reverse(url_name)).status_code == 200


@pytest.mark.parametrize("persona", ["learner", "teacher"])
def test_admin_is_closed_to_other_roles(client, school, persona):
    client.force_login(getattr(school, persona))
    response = client.get(reverse("admin:tutor_lesson_import"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def _lesson_form(**overrides):
    data = {
        "title": "Bonjour", "reference_text": "Bonjour.", "locale": "fr-FR",
        "grading_system": "HundredMark", "granularity": "Phoneme", "dimension": "Comprehensive",
        "enable_miscue": "on", "phoneme_alphabet": "", "nbest_phoneme_count": "0",
        "scenario_id": "", "is_active": "on", "order": "0",
    }
    data.update(overrides)
    return data


def test_lesson_admin_refuses_prosody_outside_en_us(admin_client):
    response = admin_client.post(reverse("admin:tutor_lesson_add"),
                                 _lesson_form(enable_prosody="on"))
    assert response.status_code == 200
    assert "Prosody assessment is only available for en-US" in response.content.decode()
    assert not Lesson.objects.filter(title="Bonjour").exists()


def test_lesson_admin_refuses_unsupported_locale(admin_client):
    response = admin_client.post(reverse("admin:tutor_lesson_add"), _lesson_form(locale="xx-XX"))
    assert response.status_code == 200
    assert not Lesson.objects.filter(title="Bonjour").exists()


def test_lesson_admin_saves_valid_settings(admin_client):
    response = admin_client.post(reverse("admin:tutor_lesson_add"), _lesson_form())
    assert response.status_code == 302
    assert Lesson.objects.get(title="Bonjour").enable_prosody is False


def test_csv_import_view_imports_and_reports(admin_client):
    url = reverse("admin:tutor_lesson_import")
    good = SimpleUploadedFile("l.csv", b"title,reference_text\nWind,The north wind.\n")
    response = admin_client.post(url, {"file": good})
    assert response.status_code == 302
    assert Lesson.objects.filter(title="Wind").exists()

    bad = SimpleUploadedFile("l.csv", b"title,reference_text,locale\nA,Text.,en-US\nB,Text.,zz\n")
    response = admin_client.post(url, {"file": bad})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert "<th scope=\"row\">3</th>" in body
    assert not Lesson.objects.filter(title="A").exists()


def test_attempt_admin_is_read_only(admin_client, school):
    attempt = AttemptFactory(learner=school.learner, lesson=school.lesson)
    WordResultFactory(attempt=attempt, word="morning")
    change_url = reverse("admin:assessments_attempt_change", args=[attempt.pk])
    response = admin_client.get(change_url)
    assert response.status_code == 200
    assert "morning" in response.content.decode()
    assert 'name="_save"' not in response.content.decode()
    admin_client.post(change_url, {"engine": "tampered"})
    attempt.refresh_from_db()
    assert attempt.engine == "local"
    assert admin_client.get(reverse("admin:assessments_attempt_add")).status_code == 403
    delete_url = reverse("admin:assessments_attempt_delete", args=[attempt.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403


def test_reassess_action_queues_finished_attempts_only(admin_client, school, monkeypatch):
    enqueued = []
    monkeypatch.setattr("assessments.services.intake.attempt_enqueue",
                        lambda *, attempt_id: enqueued.append(attempt_id) or True)
    done = AttemptFactory(learner=school.learner, lesson=school.lesson)
    failed = AttemptFactory(learner=school.learner, lesson=school.lesson,
                            status=AttemptStatus.FAILED)
    running = AttemptFactory(learner=school.learner, lesson=school.lesson,
                             status=AttemptStatus.PROCESSING)
    response = admin_client.post(
        reverse("admin:assessments_attempt_changelist"),
        {"action": "reassess", "_selected_action": [done.pk, failed.pk, running.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "Queued 2 attempt(s) for re-assessment." in body
    assert "Skipped 1" in body
    statuses = dict(Attempt.objects.values_list("pk", "status"))
    assert statuses[done.pk] == statuses[failed.pk] == AttemptStatus.QUEUED
    assert statuses[running.pk] == AttemptStatus.PROCESSING


def test_classroom_admin_offers_only_matching_roles(admin_client, school):
    form = admin_client.get(reverse("admin:tutor_classroom_add")).context["adminform"].form
    teachers = set(form.fields["teachers"].queryset.values_list("username", flat=True))
    learners = set(form.fields["learners"].queryset.values_list("username", flat=True))
    assert teachers == {"teacher", "other_teacher", "admin"}
    assert learners == {"learner", "other_learner"}


def test_user_admin_shows_role(admin_client, school):
    response = admin_client.get(reverse("admin:tutor_user_change", args=[school.teacher.pk]))
    assert 'name="role"' in response.content.decode()
