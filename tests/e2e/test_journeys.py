"""The three people's journeys in a real browser, against the real app and a real worker.

The learner records with the browser's own ``MediaRecorder`` from Chromium's fake microphone
(which plays ``mic_wav``: the demo lesson's text spoken by espeak-ng), the worker scores it
with the offline engine, and the page shows the result. Screenshots of each final state go
to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_TEXT, RESULT_TIMEOUT_MS, login

pytestmark = pytest.mark.browser

DEMO_WORDS = ["Hello", "my", "name", "is", "Sam"]


def _open_lesson(page, title: str) -> None:
    page.goto("/")
    page.get_by_role("link", name=re.compile(re.escape(title))).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def _attempt_rows(live_app, public_id_hex: str) -> tuple:
    rows = live_app.query(
        "SELECT status, engine, pronunciation, failure_message, original_audio "
        "FROM assessments_attempt WHERE replace(public_id, '-', '') = ?",
        (public_id_hex,),
    )
    assert rows, f"attempt {public_id_hex} is not in the database"
    return rows[0]


def _wait_for_result(page):
    """The result panel, once the attempt is finished; a failure fails the test with its reason."""
    finished = page.locator("#attempt-panel[data-result], #attempt-panel.attempt-panel--failed")
    expect(finished).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    failed = page.locator("#attempt-panel.attempt-panel--failed")
    if failed.count():
        pytest.fail(f"the attempt failed: {failed.inner_text()}")
    return page.locator("#attempt-panel[data-result]")


def _public_id_of(page) -> str:
    """The attempt shown on the page, from its audio URL (/attempts/<uuid>/audio/)."""
    src = page.locator("#attempt-panel audio").first.get_attribute("src")
    match = re.search(r"/attempts/([0-9a-f-]{36})/audio/", src or "")
    assert match, f"no attempt audio URL on the page ({src!r})"
    return match.group(1)


def test_learner_records_and_gets_feedback(live_app, new_page, screenshot):
    page = new_page("learner")
    _open_lesson(page, "Hello")
    expect(page.locator(".reference-text")).to_have_text(DEMO_TEXT)

    # Record with the real MediaRecorder: the fake microphone "says" the lesson text.
    record = page.locator("[data-recorder] [data-action=record]")
    expect(record).to_be_visible()
    record.click()
    stop = page.locator("[data-recorder] [data-action=stop]")
    expect(stop).to_be_visible()
    page.wait_for_timeout(3500)  # the spoken text lasts about 2.5 s after a 0.5 s pause
    stop.click()
    expect(page.locator("[data-preview]")).to_be_visible()
    duration = page.locator("[data-preview-audio]").evaluate(
        "a => new Promise(r => a.readyState >= 1 ? r(a.duration) :"
        " a.addEventListener('loadedmetadata', () => r(a.duration), {once: true}))"
    )
    assert duration != 0

    # Send it and watch the status change from waiting to the result.
    page.locator("[data-upload-form] [data-action=submit]").click()
    pending = page.locator("#attempt-slot #attempt-panel.attempt-panel--pending")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text(re.compile("Waiting to be scored|Scoring your recording"))
    result = _wait_for_result(page)
    expect(page.locator("#attempt-live")).to_contain_text("Your result is ready")

    # Scores, and every word of the text coloured by how well it was said.
    scores = result.locator(".score__value:not(.score__value--none)")
    expect(scores.first).to_be_visible()
    assert scores.count() >= 4
    for text in scores.all_inner_texts():
        assert re.match(r"^\d{1,3}", text.strip()), text
    words = result.locator("button.word")
    said = [re.match(r"\W*([\w'’]+)", text).group(1).lower() for text in words.all_inner_texts()]
    assert said == [word.lower() for word in DEMO_WORDS], words.all_inner_texts()
    for index in range(words.count()):
        classes = words.nth(index).get_attribute("class") or ""
        assert re.search(r"\bword--(?!error)[a-z]+\b", classes), classes
    colours = {w.evaluate("e => getComputedStyle(e).backgroundColor + getComputedStyle(e).color")
               for w in words.all()}
    assert colours and all(c != "rgba(0, 0, 0, 0)rgb(0, 0, 0)" for c in colours)

    # Open a word and play it from the recording.
    words.nth(2).click()
    detail = page.locator("#word-detail-2")
    expect(detail).to_be_visible()
    audio = result.locator("audio[data-attempt-audio]")
    audio.evaluate("a => { a.dataset.played = ''; a.addEventListener('playing',"
                   " () => { a.dataset.played = 'yes'; }); }")
    detail.locator("[data-play-segment]").click()
    expect(audio).to_have_attribute("data-played", "yes")
    page.wait_for_function(
        "a => a.paused && a.currentTime > 0", arg=audio.element_handle(), timeout=10_000
    )

    public_id = _public_id_of(page)
    status, engine, pronunciation, _, stored = _attempt_rows(live_app, public_id.replace("-", ""))
    assert status == "succeeded"
    assert engine == live_app.env["ASSESSMENT_ENGINE"]
    assert pronunciation is not None
    assert (live_app.var_dir / "media" / stored).exists()
    screenshot(page, "learner-result")


def _scored_attempt(live_app, new_page, mic_wav) -> str:
    """The public id of a succeeded attempt of the demo learner (one is made if needed)."""
    rows = live_app.query(
        "SELECT a.public_id FROM assessments_attempt a JOIN tutor_user u ON u.id = a.learner_id"
        " WHERE u.username = 'learner' AND a.status = 'succeeded' ORDER BY a.id DESC LIMIT 1"
    )
    if rows:
        value = rows[0][0]
        return value if "-" in value else re.sub(
            r"(.{8})(.{4})(.{4})(.{4})(.{12})", r"\1-\2-\3-\4-\5", value)
    # No journey ran before this one: send a file through the upload form instead.
    page = new_page("learner")
    _open_lesson(page, "Hello")
    page.locator("[data-upload-form] input[type=file]").set_input_files(str(mic_wav))
    page.locator("[data-upload-form] [data-action=submit]").click()
    _wait_for_result(page)
    return _public_id_of(page)


def test_teacher_finds_the_attempt_charts_and_csv(live_app, new_page, mic_wav, screenshot,
                                                  tmp_path):
    public_id = _scored_attempt(live_app, new_page, mic_wav)
    page = new_page("teacher")
    expect(page).to_have_url(re.compile(r"/teach/$"))
    page.get_by_role("link", name=re.compile("Demo class")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Demo class")

    # The class charts draw from their JSON endpoints.
    charts = page.locator("canvas[data-chart-src]")
    expect(charts.first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart-src]')]"
        ".every(c => window.Chart && Chart.getChart(c))",
        timeout=10_000,
    )
    # …and the weekly chart is drawn from the learner's scores: its pronunciation line has
    # a point within the range of what the learner scored (the class is just this learner).
    drawn = page.evaluate(
        "() => Chart.getChart(document.querySelector("
        "\"canvas[data-chart-src*='charts/scores']\")).data.datasets"
        ".map(d => ({label: d.label, data: d.data}))"
    )
    points = [v for d in drawn if d["label"] == "Pronunciation" for v in d["data"]
              if v is not None]
    (low, high), = live_app.query(
        "SELECT min(a.pronunciation), max(a.pronunciation) FROM assessments_attempt a"
        " JOIN tutor_user u ON u.id = a.learner_id"
        " WHERE u.username = 'learner' AND a.status = 'succeeded'"
    )
    assert points, drawn
    assert any(round(low, 1) - 0.05 <= v <= round(high, 1) + 0.05 for v in points), (
        points, low, high)
    screenshot(page, "teacher-class")

    # CSV export of the class contains the attempt.
    with page.expect_download() as download_info:
        page.locator("a[href$='export/attempts.csv']").first.click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert public_id in {row["attempt_id"] for row in rows}
    assert {row["learner_username"] for row in rows} == {"learner"}

    # The learner's history lists it, and it opens.
    page.locator("a[href*='/learners/']", has_text="learner").first.click()
    link = page.locator(f"a[href*='/attempts/{public_id}/']").first
    expect(link).to_be_visible()
    link.click()
    expect(page.locator("#attempt-panel[data-result]")).to_be_visible()
    screenshot(page, "teacher-attempt")


def test_admin_creates_a_lesson_the_learner_then_sees(live_app, new_page, screenshot):
    title = "Numbers"
    text = "One, two, three, four, five."
    admin = new_page("admin")
    admin.goto("/admin/tutor/lesson/add/")
    admin.fill("input[name=title]", title)
    admin.fill("textarea[name=reference_text]", text)
    admin.locator("input[name=_save]").click()
    expect(admin.locator(".messagelist .success")).to_contain_text(title)

    # Assign it to the demo class through the class's assignment inline.
    admin.goto("/admin/tutor/classroom/")
    admin.get_by_role("link", name="Demo class").click()
    # The inline's spare row (extra=1); "-empty" is the hidden template for added rows.
    row = admin.locator("tr.form-row:not(.empty-form)").filter(
        has=admin.locator("select[name^='assignments-'][name$='-lesson']")
    ).last
    row.locator(".select2-selection").click()
    admin.locator(".select2-search__field").fill(title)
    admin.locator(".select2-results__option", has_text=title).click()
    admin.locator("input[name=_save]").click()
    expect(admin.locator(".messagelist .success")).to_be_visible()
    screenshot(admin, "admin-lesson-assigned")

    learner = new_page("learner")
    learner.goto("/")
    expect(learner.get_by_role("link", name=re.compile(title)).first).to_be_visible()
    _open_lesson(learner, title)
    expect(learner.locator(".reference-text")).to_have_text(text)
    screenshot(learner, "learner-sees-new-lesson")


def test_microphone_denied_explains_what_to_do(live_app, new_page, denied_chromium, screenshot):
    page = new_page("learner", browser=denied_chromium)
    _open_lesson(page, "Hello")
    page.locator("[data-recorder] [data-action=record]").click()
    problem = page.locator("[data-recorder-problem]")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("Microphone access was blocked")
    # The upload form stays usable as the way out.
    expect(page.locator("[data-upload-form] input[type=file]")).to_be_enabled()
    screenshot(page, "microphone-denied")


def test_login_page_refuses_a_wrong_password(live_app, new_page, screenshot):
    page = new_page(None)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "learner")
    page.fill("input[name=password]", "not-the-password")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    expect(page).to_have_url(re.compile("/accounts/login/"))
    expect(page.get_by_role("alert")).to_contain_text(re.compile("correct username and password"))
    login(page, live_app, "learner")  # and the right one still works
