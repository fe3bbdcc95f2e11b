"""Sign-in: works, rate limits failures per username + address with a 429, needs CSRF."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

WRONG = "wrong"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.LOGIN_FAILURES_PER_15_MINUTES = 3


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_learner_logs_in_and_lands_home(client, school):
    response = _login(client, "learner", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_teacher_lands_on_dashboard(client, school):
    response = _login(client, "teacher", PASSWORD)
    assert response["Location"] == reverse("teacher-dashboard")


def test_next_is_respected(client, school):
    url = reverse("teacher-class", args=[school.classroom.pk])
    response = client.post(reverse("login") + f"?next={url}",
                           {"username": "teacher", "password": PASSWORD, "next": url})
    assert response["Location"] == url


def test_too_many_failures_lock_out_with_429(client, school):
    for _ in range(3):
        assert _login(client, "learner", "wrong").status_code == 200
    response = _login(client, "learner", "wrong")
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert b"wait 15 minutes" in response.content
    # Even the right password is refused while locked out: guessing gains nothing.
    response = _login(client, "learner", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client, school):
    for _ in range(3):
        _login(client, "learner", "wrong")
    assert _login(client, "learner", PASSWORD, ip="10.0.0.2").status_code == 302
    assert _login(Client(), "teacher", PASSWORD).status_code == 302
    # The username is matched case-insensitively, so changing case does not reset it.
    assert _login(Client(), "LEARNER", PASSWORD).status_code == 429


def test_lockout_ends_after_the_window(client, school, monkeypatch):
    import tutor.services

    for _ in range(3):
        _login(client, "learner", "wrong")
    now = tutor.services.time.time()
    monkeypatch.setattr(tutor.services.time, "time", lambda: now + 15 * 60 + 1)
    assert _login(client, "learner", PASSWORD).status_code == 302


def test_success_clears_earlier_failures(client, school):
    for _ in range(2):
        _login(client, "learner", "wrong")
    assert _login(client, "learner", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(2):
        assert _login(client, "learner", "wrong").status_code == 200
    assert _login(client, "learner", PASSWORD).status_code == 302


def test_login_post_without_csrf_token_is_refused(school):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, "learner", PASSWORD)
    assert response.status_code == 403


def test_logout_is_post_only(client, school):
    client.force_login(school.learner)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_parallel_guesses_cannot_pass_the_limit(settings, school):
    """Guesses sent at the same moment are each counted before any password is checked.

    The cache here is one whose incr is atomic, as Redis's is in production.
    """
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "parallel-logins"}}
    caches["default"].clear()
    from tutor.services import login_attempt_begin

    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(
            lambda _: login_attempt_begin(username="learner", client_ip="10.9.9.9"), range(20)))
    assert sum(1 for wait in waits if wait == 0) == 3
    assert all(0 < wait <= 15 * 60 for wait in waits if wait)


def test_refused_attempts_do_not_prolong_the_lockout(client, school, monkeypatch):
    import tutor.services

    for _ in range(3):
        _login(client, "learner", "wrong")
    now = tutor.services.time.time()
    monkeypatch.setattr(tutor.services.time, "time", lambda: now + 10 * 60)
    for _ in range(5):  # still locked: refused, and not counted as guesses
        assert _login(client, "learner", "wrong").status_code == 429
    monkeypatch.setattr(tutor.services.time, "time", lambda: now + 15 * 60 + 1)
    assert _login(client, "learner", PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_used(settings, school):
    """With one trusted proxy, each client is limited on its own address; the part of
    X-Forwarded-For that a client wrote itself is ignored."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.254"}

    def attempt(forwarded: str, password: str = WRONG):
        return Client().post(reverse("login"), {"username": "learner", "password": password},
                             HTTP_X_FORWARDED_FOR=forwarded, **proxy)

    for _ in range(3):
        attempt("203.0.113.7")
    assert attempt("203.0.113.7", PASSWORD).status_code == 429
    # Another learner behind the same proxy is not locked out by the first one's guesses.
    assert attempt("198.51.100.9", PASSWORD).status_code == 302
    # A forged entry on the left does not give the guesser a fresh address.
    assert attempt("1.2.3.4, 203.0.113.7", PASSWORD).status_code == 429


def test_many_usernames_from_one_address_hit_the_address_limit(settings, client, school):
    settings.LOGIN_FAILURES_PER_ADDRESS_PER_15_MINUTES = 5
    for number in range(5):
        assert _login(client, f"nobody{number}", "wrong").status_code == 200
    response = _login(client, "learner", PASSWORD)
    assert response.status_code == 429
    assert _login(client, "learner", PASSWORD, ip="10.0.0.2").status_code == 302


def test_successful_sign_ins_do_not_use_up_a_shared_address(settings, school):
    """A classroom signs in from one school address: successes are not failures."""
    settings.LOGIN_FAILURES_PER_ADDRESS_PER_15_MINUTES = 2
    for _ in range(6):
        assert _login(Client(), "learner", PASSWORD).status_code == 302
    assert _login(Client(), "teacher", PASSWORD).status_code == 302
