"""A learner whose session ended: the recorder and the poll are told so, never redirected.

``login_required`` would answer 302 to the sign-in page; XMLHttpRequest follows it and the
recorder would take the sign-in page for an accepted upload, and sign-in would then return
the learner to ``next``, the POST-only upload URL. These views answer 401 with a fragment
instead, and point sign-in back at the page the learner was on.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from assessments.models import Attempt, AttemptStatus
from tests.assessments.test_views import HTMX, wav_upload
from tests.factories import AttemptFactory

pytestmark = pytest.mark.django_db


def _next_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == reverse("login")
    return parse_qs(parts.query)["next"][0]


def _sign_in_link(html: str) -> str:
    found = re.search(r'<a href="([^"]*)" target="_blank"', html)
    assert found, html
    return found.group(1).replace("&amp;", "&")


@pytest.fixture
def pending(school) -> Attempt:
    return AttemptFactory(learner=school.learner, lesson=school.lesson,
                          status=AttemptStatus.QUEUED, finished_at=None)


# --- Upload ---------------------------------------------------------------------------------


def test_signed_out_upload_from_the_recorder_is_a_401_with_a_message(client, school):
    response = client.post(reverse("attempt-upload", args=[school.lesson.pk]),
                           {"audio": wav_upload()}, **HTMX)
    assert response.status_code == 401
    assert "Location" not in response
    html = response.content.decode()
    assert 'id="upload-error"' in html and 'role="alert"' in html
    assert "signed out" in html and "it is still here" in html
    assert "password" not in html.lower()  # not the sign-in page
    link = _sign_in_link(html)
    assert _next_of(link) == reverse("lesson-practice", args=[school.lesson.pk])
    assert not Attempt.objects.exists()


def test_signed_out_upload_is_checked_for_csrf_first_then_gets_its_401(school):
    """Signing out leaves the CSRF cookie; the recorder sends it, and is told to sign in.
    A forged POST without the token is still refused by the CSRF check, like every view."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))
    token = client.cookies["csrftoken"].value
    url = reverse("attempt-upload", args=[school.lesson.pk])
    forged = client.post(url, {"audio": wav_upload()}, **HTMX)
    assert forged.status_code == 403
    response = client.post(url, {"audio": wav_upload()}, **HTMX, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 401
    assert 'id="upload-error"' in response.content.decode()
    assert not Attempt.objects.exists()


def test_signed_out_upload_without_javascript_signs_in_back_to_the_practice_page(client,
                                                                                 school):
    response = client.post(reverse("attempt-upload", args=[school.lesson.pk]),
                           {"audio": wav_upload()})
    assert response.status_code == 302
    practice = reverse("lesson-practice", args=[school.lesson.pk])
    assert _next_of(response.url) == practice  # not the POST-only upload URL (405)
    client.force_login(school.learner)
    assert client.get(practice).status_code == 200


# --- Status poll ------------------------------------------------------------------------------


def test_signed_out_poll_is_a_401_notice_that_leads_back_to_the_page(client, school, pending):
    practice = reverse("lesson-practice", args=[school.lesson.pk])
    status_url = reverse("attempt-status", args=[pending.public_id])
    response = client.get(f"{status_url}?seen=queued", **HTMX,
                          HTTP_HX_CURRENT_URL=f"http://testserver{practice}")
    assert response.status_code == 401
    assert "HX-Redirect" not in response  # a redirect would drop an unsent new take
    html = response.content.decode()
    assert 'id="attempt-panel"' in html and "data-signed-out" in html
    assert "signed out" in html and 'role="alert"' in html
    assert "hx-trigger" not in html  # replacing the poller ends the polling
    assert f'hx-get="{status_url}"' in html  # "show the result here", once signed in
    assert _next_of(_sign_in_link(html)) == practice


def test_signed_out_poll_from_another_site_leads_back_to_the_attempt(client, pending):
    response = client.get(reverse("attempt-status", args=[pending.public_id]), **HTMX,
                          HTTP_HX_CURRENT_URL="https://evil.example/phish")
    assert response.status_code == 401
    link = _sign_in_link(response.content.decode())
    assert _next_of(link) == reverse("attempt-detail", args=[pending.public_id])


def test_signed_out_poll_without_htmx_signs_in_back_to_the_attempt(client, pending):
    response = client.get(reverse("attempt-status", args=[pending.public_id]))
    assert response.status_code == 302
    assert _next_of(response.url) == reverse("attempt-detail", args=[pending.public_id])


def test_signed_out_poll_says_nothing_about_the_attempt(client, school):
    done = AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=91.0)
    response = client.get(reverse("attempt-status", args=[done.public_id]), **HTMX)
    assert response.status_code == 401
    html = response.content.decode()
    assert "91" not in html and school.lesson.title not in html


def test_after_signing_in_the_notice_button_shows_the_panel_again(client, school, pending):
    status_url = reverse("attempt-status", args=[pending.public_id])
    assert client.get(status_url, **HTMX).status_code == 401
    client.force_login(school.learner)
    response = client.get(status_url, **HTMX)
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.content.decode()  # polling resumes
