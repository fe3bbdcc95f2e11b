"""Browser fixtures: the real app on loopback, and headless Chromium with a fake microphone.

* ``live_app`` (session): :func:`tests.e2e.app.running_app` in a temporary ``TUTOR_VAR_DIR``.
* ``mic_wav`` (session): the demo lesson's text spoken by espeak-ng, as the 48 kHz mono
  16-bit WAV that Chromium's fake capture device plays (once: ``%noloop``).
* ``chromium`` (session): Debian's ``/usr/bin/chromium`` driven by Playwright, with the fake
  microphone granted automatically (``--use-fake-ui-for-media-stream``).
* ``denied_chromium`` (session, started on first use): the same browser without the fake
  permission UI, so every microphone request is refused as if the learner said no.
* ``new_page(role, browser=None, app=None)`` (function): a fresh context and page, logged in
  as a demo user of ``app`` (default ``live_app``); contexts are closed at the end of the test.
* ``screenshot(page, name)``: saves ``test-artifacts/screenshots/<name>.png`` and prints it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.app import REPO, LiveApp, running_app
from tests.support.audio_factory import make_speech_wav, require_tool

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DEMO_TEXT = "Hello, my name is Sam."
DEMO_PASSWORDS = {
    "learner": "learner-demo-pass",
    "teacher": "teacher-demo-pass",
    "admin": "admin-demo-pass",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous for a 2-core CI machine, still far below the suite budget.
TIMEOUT_MS = 20_000
RESULT_TIMEOUT_MS = 60_000


def pytest_collection_modifyitems(config, items):
    """Browser tests need Chromium; say so plainly when it is missing (make test installs it)."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (run `make install-test`).")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def live_app(tmp_path_factory) -> Iterator[LiveApp]:
    with running_app(tmp_path_factory.mktemp("live-app") / "var") as app:
        yield app


@pytest.fixture(scope="session")
def mic_wav(tmp_path_factory) -> Path:
    """Half a second of silence, the lesson text, then silence: what the learner "says"."""
    directory = tmp_path_factory.mktemp("mic")
    spoken = make_speech_wav(DEMO_TEXT, directory / "spoken.wav", words_per_minute=150)
    target = directory / "mic-48k.wav"
    subprocess.run(
        [
            require_tool("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(spoken),
            "-af", "adelay=500,apad=pad_dur=2", "-ar", "48000", "-ac", "1",
            "-c:a", "pcm_s16le", str(target),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    return target


# Package scope: Playwright's sync API runs an event loop in this thread while it is open,
# and Django refuses database calls from a thread with a running loop; closing it after the
# browser tests keeps the rest of the suite (integration tests) unaffected.
@pytest.fixture(scope="package")
def _playwright() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (run `make install-test`).")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.start()
    try:
        yield playwright
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(scope="package")
def chromium(_playwright, mic_wav):
    browser = _playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic_wav}%noloop",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def denied_chromium(_playwright):
    """No fake permission UI: headless Chromium then refuses every microphone request."""
    browser = _playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--deny-permission-prompts"],
    )
    yield browser
    browser.close()


def login(page, live_app: LiveApp, role: str) -> None:
    page.goto(f"{live_app.url}/accounts/login/")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", DEMO_PASSWORDS[role])
    with page.expect_navigation():
        page.locator("form button[type=submit], form input[type=submit]").first.click()
    assert "/accounts/login/" not in page.url, f"{role} could not log in (still on {page.url})"


@pytest.fixture
def new_page(live_app, chromium) -> Iterator[Callable[..., object]]:
    """``new_page("learner")``: a logged-in page in a fresh context (``role=None``: anonymous)."""
    contexts = []
    problems: list[str] = []

    def make(role: str | None, *, browser=None, app: LiveApp | None = None):
        app = app or live_app
        context = (browser or chromium).new_context(
            base_url=app.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        # Scripts the page could not run, or that the CSP blocked, are bugs worth failing on.
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None,
        )
        if role:
            login(page, app, role)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take


@pytest.fixture(scope="session", autouse=True)
def _clean_screenshots() -> None:
    """Each run leaves only its own screenshots behind."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
