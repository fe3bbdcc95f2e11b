"""Admin: lesson validation and CSV import, classes, users and the read-only attempts."""

from __future__ import annotations

import importlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assessments.models import Attempt, AttemptStatus
from tests.factories import AttemptFactory, WordResultFactory
from tutor.models import Lesson, Role, User


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


def test_lesson_admin_saves_valid_settings(admin_client, settings):
    settings.ASSESSMENT_ENGINE = "azure"  # a French lesson needs Azure to be scored
    response = admin_client.post(reverse("admin:tutor_lesson_add"), _lesson_form())
    assert response.status_code == 302
    assert Lesson.objects.get(title="Bonjour").enable_prosody is False


def test_with_the_offline_engine_an_active_lesson_it_cannot_score_is_refused(
    admin_client, settings
):
    settings.ASSESSMENT_ENGINE = "local"
    response = admin_client.post(reverse("admin:tutor_lesson_add"), _lesson_form())
    assert response.status_code == 200
    assert "which scores en-US only" in response.content.decode()
    assert not Lesson.objects.filter(title="Bonjour").exists()
    # Prepared ahead of configuring Azure: an inactive lesson is kept.
    form = _lesson_form()
    del form["is_active"]
    assert admin_client.post(reverse("admin:tutor_lesson_add"), form).status_code == 302
    assert Lesson.objects.get(title="Bonjour").is_active is False


def test_with_the_offline_engine_words_it_cannot_pronounce_are_named(admin_client, settings):
    settings.ASSESSMENT_ENGINE = "local"
    response = admin_client.post(reverse("admin:tutor_lesson_add"), _lesson_form(
        locale="en-US", title="Greeting", reference_text="Hello, Tanaka-san 日本."))
    assert response.status_code == 200
    assert "cannot pronounce &quot;日本&quot;" in response.content.decode()
    assert not Lesson.objects.filter(title="Greeting").exists()
    response = admin_client.post(reverse("admin:tutor_lesson_add"), _lesson_form(
        locale="en-US", title="Greeting", reference_text="Hello, Mr. Müller, it is 10:30."))
    assert response.status_code == 302


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


# --- Roles: the role alone decides; staff and superuser follow it ----------------------------


def _change_user(admin_client, user, tick=False, **changes):
    """Post the user's admin change form back as shown, with ``changes`` (and, with
    ``tick``, the staff and superuser boxes ticked as if the form still had them)."""
    url = reverse("admin:tutor_user_change", args=[user.pk])
    data = {
        "username": user.username, "first_name": "", "last_name": "", "email": user.email,
        "role": user.role, "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "", "last_login_1": "",
        **changes,
    }
    if tick:
        data.update(is_staff="on", is_superuser="on")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    return user


def test_role_admin_set_in_the_admin_grants_staff_and_superuser(admin_client, school):
    user = _change_user(admin_client, school.teacher, role="admin")
    assert (user.is_staff, user.is_superuser, user.is_admin_role) == (True, True, True)
    user = _change_user(admin_client, user, role="teacher")
    assert (user.is_staff, user.is_superuser, user.is_admin_role) == (False, False, False)


def test_staff_and_superuser_cannot_be_ticked_without_the_role(admin_client, school):
    response = admin_client.get(reverse("admin:tutor_user_change", args=[school.learner.pk]))
    form = response.context["adminform"].form
    assert "is_staff" not in form.fields and "is_superuser" not in form.fields
    user = _change_user(admin_client, school.learner, tick=True)
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_user_added_in_the_admin_as_admin_can_open_the_admin(admin_client, client):
    response = admin_client.post(reverse("admin:tutor_user_add"), {
        "username": "newadmin", "role": "admin", "password1": "a-long-passphrase-1",
        "password2": "a-long-passphrase-1", "usable_password": "true",
    })
    assert response.status_code == 302
    user = User.objects.get(username="newadmin")
    assert user.is_staff and user.is_superuser
    client.force_login(user)
    assert client.get(reverse("admin:tutor_lesson_changelist")).status_code == 200


@pytest.mark.parametrize(("role", "flags"), [("admin", True), ("teacher", False),
                                             ("learner", False)])
def test_save_keeps_the_flags_in_step_with_the_role(db, role, flags):
    user = User(username="someone", role=role, is_staff=not flags, is_superuser=not flags)
    user.save()
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (flags, flags)


def test_saving_only_the_role_also_stores_the_flags(school):
    school.teacher.role = Role.ADMIN
    school.teacher.save(update_fields=["role"])
    school.teacher.refresh_from_db()
    assert school.teacher.is_staff and school.teacher.is_superuser


def test_superuser_flag_alone_does_not_make_an_admin(school):
    # Set behind save()'s back (e.g. a raw UPDATE): the role still decides.
    User.objects.filter(pk=school.learner.pk).update(is_superuser=True, is_staff=True)
    school.learner.refresh_from_db()
    assert not school.learner.is_admin_role


def test_createsuperuser_makes_an_admin_by_role(db):
    user = User.objects.create_superuser("root", "root@example.com", "a-long-passphrase-1")
    assert user.role == Role.ADMIN and user.is_admin_role
    assert user.is_staff and user.is_superuser


def test_migration_gives_existing_superusers_the_admin_role(db):
    from django.apps import apps

    migration = importlib.import_module("tutor.migrations.0002_role_decides_admin_flags")
    old_root = User.objects.create(username="old-root", role=Role.LEARNER)
    stray_staff = User.objects.create(username="stray", role=Role.TEACHER)
    User.objects.filter(pk=old_root.pk).update(is_superuser=True, is_staff=True)
    User.objects.filter(pk=stray_staff.pk).update(is_staff=True)

    migration.roles_from_superuser_flag(apps, None)

    old_root.refresh_from_db()
    stray_staff.refresh_from_db()
    assert (old_root.role, old_root.is_staff, old_root.is_superuser) == (Role.ADMIN, True, True)
    assert (stray_staff.role, stray_staff.is_staff) == (Role.TEACHER, False)
