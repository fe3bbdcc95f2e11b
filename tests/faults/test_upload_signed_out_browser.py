"""Signed out in another tab, in a real browser: the recording waits, the page explains.

The learner picks a file on the practice page, logs out in a second tab, and sends: the page
says they were signed out (never shows the sign-in page as a result) and keeps the file.
After signing in again in the other tab — which replaces the CSRF token — the same send
goes through. Then, while the result is being polled, the same happens to the poll.

Its own module-scoped app and browser rather than the e2e package's: Playwright's sync API
keeps an event loop running in this thread, and the database tests after this module need
it closed.
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.app import LiveApp, running_app
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, RESULT_TIMEOUT_MS, TIMEOUT_MS, login

pytestmark = pytest.mark.browser

PLAYWRIGHT_TIMEOUT_MS = TIMEOUT_MS


@pytest.fixture(scope="module")
def live_app(tmp_path_factory) -> Iterator[LiveApp]:
    with running_app(tmp_path_factory.mktemp("signed-out-app") / "var") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (run `make install-test`).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def speech_file(tmp_path) -> Path:
    """A second of a quiet tone: enough for the upload to be accepted."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x10" * 16000)
    path = tmp_path / "take.wav"
    path.write_bytes(buffer.getvalue())
    return path


def _log_out(page) -> None:
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Log out")).click()


def test_signed_out_learner_keeps_the_recording_and_is_told_why(live_app, browser,
                                                                speech_file):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_app.url)
    context.set_default_timeout(PLAYWRIGHT_TIMEOUT_MS)
    problems: list[str] = []
    practice = context.new_page()
    practice.on("pageerror", lambda error: problems.append(str(error)))
    login(practice, live_app, "learner")
    practice.get_by_role("link", name=re.compile("Hello")).first.click()
    other_tab = context.new_page()

    # Signed out in the other tab, then send.
    practice.locator("[data-upload-form] input[type=file]").set_input_files(str(speech_file))
    _log_out(other_tab)
    send = practice.locator("[data-upload-form] [data-action=submit]")
    send.click()
    feedback = practice.locator("[data-upload-feedback] #upload-error")
    expect(feedback).to_contain_text("You have been signed out")
    expect(feedback.get_by_role("link", name=re.compile("Sign in again"))).to_have_attribute(
        "href", re.compile(r"next=%2Flessons%2F\d+%2F$")
    )
    assert practice.locator("#attempt-slot").inner_html().strip() == ""  # no sign-in page
    assert practice.locator("input[name=password]").count() == 0
    expect(send).to_be_enabled()

    # Signed in again there (a new CSRF token): the same file, sent again, is taken.
    login(other_tab, live_app, "learner")
    send.click()
    panel = practice.locator("#attempt-slot #attempt-panel")
    expect(panel).to_be_visible()
    expect(practice.locator("[data-upload-feedback]")).to_be_empty()

    # Signed out while a result is polled: the poll says so instead of failing silently.
    # The worker may be done before the log-out, so the poller is put back by hand: the
    # status view checks the session before it looks at the attempt.
    finished = practice.locator("#attempt-panel[data-result], #attempt-panel.attempt-panel--failed")
    expect(finished).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    audio_src = finished.locator("audio").first.get_attribute("src") or ""
    status_url = re.sub(r"/audio/$", "/status/", audio_src)
    assert status_url.endswith("/status/"), audio_src
    _log_out(other_tab)
    practice.evaluate(
        """url => {
            const slot = document.getElementById("attempt-slot");
            slot.innerHTML = `<div id="attempt-panel" class="attempt-panel attempt-panel--pending"
                hx-get="${url}?seen=queued" hx-trigger="every 1s" hx-swap="outerHTML"></div>`;
            htmx.process(slot);
        }""",
        status_url,
    )
    notice = practice.locator("#attempt-panel[data-signed-out]")
    expect(notice).to_contain_text("You have been signed out")
    expect(notice.get_by_role("link", name=re.compile("Sign in again"))).to_have_attribute(
        "href", re.compile(r"next=%2Flessons%2F\d+%2F$")
    )
    login(other_tab, live_app, "learner")
    notice.get_by_role("button", name="show the result here").click()
    expect(finished).to_be_visible()
    expect(notice).to_have_count(0)
    context.close()
    assert not problems, problems


def test_a_redirected_upload_is_never_shown_as_the_result(live_app, browser, speech_file):
    """Whatever answers with a redirect (an older server, a proxy's sign-in page): the
    recorder sees the XMLHttpRequest ended somewhere else and says so."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_app.url)
    context.set_default_timeout(PLAYWRIGHT_TIMEOUT_MS)
    page = context.new_page()
    login(page, live_app, "learner")
    page.get_by_role("link", name=re.compile("Hello")).first.click()
    page.route(
        re.compile(r"/lessons/\d+/attempts/$"),
        lambda route: route.fulfill(status=302, headers={"Location": "/accounts/login/?next=/"}),
    )
    page.locator("[data-upload-form] input[type=file]").set_input_files(str(speech_file))
    page.locator("[data-upload-form] [data-action=submit]").click()
    expect(page.locator("[data-upload-feedback]")).to_contain_text("You have been signed out")
    assert page.locator("#attempt-slot").inner_html().strip() == ""
    assert page.locator("input[name=password]").count() == 0
    context.close()
