"""The practice page's recorder in a real browser: what issue 7 asks of it beyond the journeys.

Chromium's fake microphone plays ``mic_wav`` (half a second of silence, then the demo lesson's
text). Most tests use the package's ``live_app`` with the product's 30-second limit; the
auto-stop test starts its own app with ``AUDIO_MAX_SECONDS=2``, which the page reads from the
server (``data-max-seconds``), so the browser's limit and the server's trim length are one
setting. The browser's own refusals (no microphone, not a secure context) and its speech
synthesis are stood in for by init scripts that run before the page's scripts.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.app import running_app
from tests.e2e.conftest import DEMO_TEXT

pytestmark = pytest.mark.browser

SHORT_LIMIT_SECONDS = 2

# Runs before the page's scripts: counts microphone requests and keeps the streams handed
# out, or with ``fail`` set refuses them the way a browser does when there is no input device.
MICROPHONE_SPY = """
({ fail }) => {
  window.__microphoneRequests = 0;
  window.__microphoneStreams = [];
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__microphoneRequests += 1;
    if (fail) throw new DOMException("Requested device not found", fail);
    const stream = await original(constraints);
    window.__microphoneStreams.push(stream);
    return stream;
  };
}
"""


@pytest.fixture(scope="module")
def short_limit_app(tmp_path_factory):
    """The product with a 2-second recording limit, so auto-stop can be watched quickly."""
    with running_app(
        tmp_path_factory.mktemp("short-limit-app") / "var",
        AUDIO_MAX_SECONDS=str(SHORT_LIMIT_SECONDS),
    ) as app:
        yield app


class Recorder:
    """The practice page's controls, by the data attributes recorder.js uses."""

    def __init__(self, page):
        self.page = page
        section = page.locator("[data-recorder]")
        form = page.locator("[data-upload-form]")
        self.section = section
        self.record = section.locator("[data-action=record]")
        self.record_label = section.locator("[data-record-label]")
        self.stop = section.locator("[data-action=stop]")
        self.indicator = section.locator("[data-recording-indicator]")
        self.elapsed = section.locator("[data-elapsed]")
        self.level = section.locator("[data-level]")
        self.preview = section.locator("[data-preview]")
        self.preview_audio = section.locator("[data-preview-audio]")
        self.status = section.locator("[data-recorder-status]")
        self.problem = section.locator("[data-recorder-problem]")
        self.file_input = form.locator("input[type=file]")
        self.submit = form.locator("[data-action=submit]")
        self.token = form.locator("input[name=submission_id]")


def _open_practice(page, title: str = "Hello") -> Recorder:
    page.goto("/")
    page.get_by_role("link", name=re.compile(re.escape(title))).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    return Recorder(page)


def _microphone_requests(page) -> int:
    return page.evaluate("() => window.__microphoneRequests")


def _recorded_seconds(recorder: Recorder) -> float:
    """The length of the take in the preview player. Chromium's WebM recordings carry no
    duration (``audio.duration`` is Infinity) until the player has seeked to the end."""
    return recorder.preview_audio.evaluate(
        """async (audio) => {
             const event = (name) => new Promise((resolve) =>
               audio.addEventListener(name, resolve, { once: true }));
             if (audio.readyState < 1) await event("loadedmetadata");
             while (!Number.isFinite(audio.duration)) {
               const changed = event("durationchange");
               audio.currentTime = Number.MAX_SAFE_INTEGER;
               await changed;
             }
             audio.currentTime = 0;
             return audio.duration;
           }"""
    )


def _blob_url_released(page, url: str) -> bool:
    """A revoked blob: URL no longer loads (checked with a player: the CSP allows media-src
    blob:, not fetch)."""
    return page.evaluate(
        """(url) => new Promise((resolve) => {
             const audio = new Audio();
             audio.addEventListener("error", () => resolve(true), { once: true });
             audio.addEventListener("loadedmetadata", () => resolve(false), { once: true });
             audio.src = url;
           })""",
        url,
    )


def test_recording_stops_by_itself_at_the_limit(short_limit_app, new_page, screenshot):
    page = new_page("learner", app=short_limit_app)
    recorder = _open_practice(page)
    # The limit comes from the server's setting, and the page says it everywhere it is stated.
    expect(recorder.section).to_have_attribute("data-max-seconds", str(SHORT_LIMIT_SECONDS))
    expect(recorder.section).to_contain_text(f"stops by itself after {SHORT_LIMIT_SECONDS} seconds")
    expect(page.locator("[data-file-field]")).to_contain_text(
        f"up to {SHORT_LIMIT_SECONDS} seconds"
    )
    expect(recorder.section.locator(".recorder__time")).to_contain_text("/ 0:02")

    started = time.monotonic()
    recorder.record.click()
    expect(recorder.stop).to_be_visible()
    expect(recorder.status).to_contain_text(
        f"it stops by itself after {SHORT_LIMIT_SECONDS} seconds"
    )
    # Nobody presses stop: the take ends on its own, with the full limit on the clock.
    expect(recorder.preview).to_be_visible(timeout=10_000)
    assert time.monotonic() - started >= SHORT_LIMIT_SECONDS - 0.2
    expect(recorder.stop).to_be_hidden()
    expect(recorder.indicator).to_be_hidden()
    expect(recorder.elapsed).to_have_text("0:02")
    expect(recorder.status).to_contain_text("Recording finished")
    expect(recorder.submit).to_be_enabled()
    seconds = _recorded_seconds(recorder)
    assert SHORT_LIMIT_SECONDS - 0.4 <= seconds <= SHORT_LIMIT_SECONDS + 0.8, seconds
    screenshot(page, "recorder-auto-stopped")


def test_elapsed_time_and_input_level_move_while_recording(live_app, new_page, screenshot):
    page = new_page("learner")
    recorder = _open_practice(page)
    expect(recorder.elapsed).to_have_text("0:00")
    assert recorder.level.evaluate("meter => meter.value") == 0

    recorder.record.click()
    expect(recorder.stop).to_be_visible()
    expect(recorder.indicator).to_be_visible()
    # The fake microphone starts speaking after half a second; the meter follows it.
    page.wait_for_function(
        "meter => meter.value > 0.05", arg=recorder.level.element_handle(), polling="raf",
        timeout=10_000,
    )
    expect(recorder.elapsed).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=10_000)
    screenshot(page, "recorder-recording")

    recorder.stop.click()
    expect(recorder.preview).to_be_visible()
    # Stopping freezes the clock and drops the meter back to silence.
    stopped_at = recorder.elapsed.inner_text()
    assert re.fullmatch(r"0:0[1-9]", stopped_at), stopped_at
    expect(recorder.level).to_have_attribute("value", "0")


def test_listen_back_then_record_again(live_app, new_page, screenshot):
    page = new_page("learner")
    recorder = _open_practice(page)
    expect(recorder.record_label).to_have_text("Start recording")

    recorder.record.click()
    expect(recorder.stop).to_be_visible()
    expect(recorder.submit).to_be_disabled()  # nothing to send while the take is running
    expect(recorder.elapsed).to_have_text("0:01", timeout=10_000)
    recorder.stop.click()

    expect(recorder.preview).to_be_visible()
    first = recorder.preview_audio.get_attribute("src") or ""
    assert first.startswith("blob:"), first
    expect(recorder.submit).to_be_enabled()
    expect(recorder.record_label).to_have_text("Record again")
    first_token = recorder.token.input_value()
    # Listening back plays the take in the page.
    recorder.preview_audio.evaluate("audio => audio.play()")
    page.wait_for_function(
        "audio => audio.currentTime > 0", arg=recorder.preview_audio.element_handle(),
        timeout=10_000,
    )
    recorder.preview_audio.evaluate("audio => audio.pause()")

    # Record again: the old take is put away and nothing can be sent until the new one ends.
    recorder.record.click()
    expect(recorder.stop).to_be_visible()
    expect(recorder.preview).to_be_hidden()
    expect(recorder.submit).to_be_disabled()
    expect(recorder.elapsed).to_have_text("0:01", timeout=10_000)
    recorder.stop.click()

    expect(recorder.preview).to_be_visible()
    expect(recorder.preview_audio).not_to_have_attribute("src", first)
    second = recorder.preview_audio.get_attribute("src") or ""
    assert second.startswith("blob:"), second
    assert _recorded_seconds(recorder) > 0.5
    expect(recorder.submit).to_be_enabled()
    # A new take is a new submission, and the replaced one's object URL is released.
    assert recorder.token.input_value() != first_token
    assert _blob_url_released(page, first), "the first take's blob: URL was not revoked"
    assert not _blob_url_released(page, second)
    screenshot(page, "recorder-record-again")


def test_double_click_on_record_opens_the_microphone_once(live_app, new_page):
    page = new_page("learner")
    page.add_init_script(script=f"({MICROPHONE_SPY})({{ fail: '' }})")
    recorder = _open_practice(page)
    recorder.record.dblclick()
    expect(recorder.stop).to_be_visible()
    recorder.stop.click()
    expect(recorder.preview).to_be_visible()
    assert _microphone_requests(page) == 1
    # Stopping released every microphone stream the page was given.
    tracks = page.evaluate(
        "() => window.__microphoneStreams.flatMap(s => s.getTracks().map(t => t.readyState))"
    )
    assert tracks == ["ended"], tracks


# Loopback uploads finish in milliseconds, so the progress bar is watched by observers
# installed before sending rather than by polling its visibility from here.
WATCH_UPLOAD = """
() => {
  const seen = { shown: false, values: [], live: [] };
  const wrap = document.querySelector("[data-upload-progress-wrap]");
  const bar = document.querySelector("[data-upload-progress]");
  const live = document.getElementById("attempt-live");
  new MutationObserver(() => { if (!wrap.hidden) seen.shown = true; })
    .observe(wrap, { attributes: true, attributeFilter: ["hidden"] });
  new MutationObserver(() => seen.values.push(bar.value))
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
  new MutationObserver(() => seen.live.push(live.textContent.trim()))
    .observe(live, { childList: true, characterData: true, subtree: true });
  window.__upload = seen;
}
"""


def test_upload_shows_progress_then_the_polled_panel(live_app, new_page, screenshot):
    page = new_page("learner")
    recorder = _open_practice(page)
    recorder.record.click()
    expect(recorder.elapsed).to_have_text("0:02", timeout=10_000)
    recorder.stop.click()
    expect(recorder.submit).to_be_enabled()

    page.evaluate(WATCH_UPLOAD)
    with page.expect_request(re.compile(r"/attempts/[0-9a-f-]{36}/status/"),
                             timeout=20_000) as poll:
        recorder.submit.click()
        pending = page.locator("#attempt-slot #attempt-panel.attempt-panel--pending")
        expect(pending).to_be_visible()
        expect(pending).to_have_attribute("hx-trigger", re.compile(r"every"))
        expect(pending).to_contain_text(re.compile("Waiting to be scored|Scoring your recording"))
    assert poll.value.method == "GET"

    seen = page.evaluate("() => window.__upload")
    assert seen["shown"], seen
    assert 100 in seen["values"], seen
    assert "Sending your recording…" in seen["live"], seen
    # Once the answer is in, the bar is put away and the button stays off for this take.
    expect(page.locator("[data-upload-progress-wrap]")).to_be_hidden()
    expect(page.locator("[data-upload-progress]")).to_have_attribute("value", "0")
    expect(recorder.submit).to_be_disabled()
    screenshot(page, "recorder-upload-sent")


def test_no_microphone_explains_and_keeps_the_upload(live_app, new_page, mic_wav, screenshot):
    page = new_page("learner")
    page.add_init_script(script=f"({MICROPHONE_SPY})({{ fail: 'NotFoundError' }})")
    recorder = _open_practice(page)
    expect(recorder.record).to_be_visible()
    assert _microphone_requests(page) == 0  # never asked on page load

    recorder.record.click()
    expect(recorder.problem).to_be_visible()
    expect(recorder.problem).to_contain_text("No microphone was found")
    assert _microphone_requests(page) == 1
    expect(recorder.stop).to_be_hidden()
    expect(recorder.record).to_be_visible()  # plugging one in and trying again stays possible
    screenshot(page, "recorder-no-microphone")

    # The file upload is the way out.
    expect(recorder.file_input).to_be_enabled()
    recorder.file_input.set_input_files(str(mic_wav))
    expect(recorder.submit).to_be_enabled()


def test_insecure_page_explains_why_it_cannot_record(live_app, new_page, screenshot):
    page = new_page("learner")
    page.add_init_script(
        script="Object.defineProperty(window, 'isSecureContext',"
        " { get: () => false, configurable: true });"
        f"({MICROPHONE_SPY})({{ fail: '' }})"
    )
    recorder = _open_practice(page)
    assert page.evaluate("() => window.isSecureContext") is False
    # recorder.js knows before any click: it explains, and offers no button that cannot work.
    expect(recorder.problem).to_be_visible()
    expect(recorder.problem).to_contain_text("Recording needs a secure page")
    expect(recorder.problem).to_contain_text("https://")
    expect(recorder.record).to_be_hidden()
    assert _microphone_requests(page) == 0
    expect(recorder.file_input).to_be_enabled()
    screenshot(page, "recorder-insecure-context")


def test_listen_to_the_model_speaks_the_lesson_text(live_app, new_page, screenshot):
    page = new_page("learner")
    # Headless Chromium may have no voices: record what the page asks to be spoken.
    page.add_init_script(
        script="""
        window.__spoken = [];
        const speak = window.speechSynthesis.speak.bind(window.speechSynthesis);
        window.speechSynthesis.speak = (utterance) => {
          window.__spoken.push({ text: utterance.text, lang: utterance.lang });
          speak(utterance);
        };
        """
    )
    recorder = _open_practice(page)
    button = page.locator(".prompt").get_by_role("button", name="Listen to the model")
    expect(button).to_be_visible()
    assert page.evaluate("() => window.__spoken") == []
    button.click()
    page.wait_for_function("() => window.__spoken.length > 0", timeout=5_000)
    spoken = page.evaluate("() => window.__spoken")
    assert spoken == [{"text": DEMO_TEXT, "lang": button.get_attribute("data-speak-lang")}]
    assert spoken[0]["text"] == page.locator(".reference-text").inner_text()
    expect(recorder.problem).to_be_hidden()
    screenshot(page, "recorder-listen-to-model")

