"""Bad uploads through the real upload view and the real task.

Each input ends in one of two ways, never a 500: refused at once (400/409/429) with a message
the learner can act on and nothing stored, or accepted (the recording saved byte for byte)
and then finished by the worker as succeeded or failed with a learner message.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from assessments.models import Attempt, AttemptStatus
from tests.faults.helpers import (
    HTMX,
    assert_finished_cleanly,
    refusal_text,
    run_task,
    upload,
)
from tests.support.audio_factory import require_tool

SPOKEN = "Good morning, how are you today?"

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner_client(client, school):
    client.force_login(school.learner)
    return client


def _refused(response, status: int, *words: str) -> str:
    assert response.status_code == status, (response.status_code, refusal_text(response))
    text = refusal_text(response)
    assert 'role="alert"' in text
    for word in words:
        assert word.lower() in text.lower(), text
    assert Attempt.objects.count() == 0
    return text


def _accepted(response) -> Attempt:
    assert response.status_code == 202, (response.status_code, refusal_text(response))
    attempt = Attempt.objects.get()
    assert attempt.status == AttemptStatus.QUEUED
    return attempt


def _media_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- Refused before anything is stored ----------------------------------------------------


def test_empty_file_is_refused(learner_client, school):
    response = upload(learner_client, school.lesson, b"")
    _refused(response, 400, "empty")
    assert _media_files() == []


def test_one_byte_file_is_refused(learner_client, school):
    response = upload(learner_client, school.lesson, b"\x1a")
    _refused(response, 400, "couldn't read that file as audio")


def test_random_bytes_with_an_audio_type_are_refused(learner_client, school):
    junk = random.Random(20240611).randbytes(64 * 1024)  # fixed: no accidental audio magic
    response = upload(learner_client, school.lesson, junk, name="voice.webm",
                      content_type="audio/webm;codecs=opus", mime_type="audio/webm;codecs=opus")
    _refused(response, 400, "couldn't read that file as audio")
    assert _media_files() == []


@pytest.mark.parametrize("name", ["voice.wav", "voice.webm", "voice.mp3"])
def test_renamed_image_is_refused(learner_client, school, audio_factory, name):
    image = audio_factory.renamed(audio_factory.png(), name=name)
    response = upload(learner_client, school.lesson, image, name=name, content_type="audio/wav")
    _refused(response, 400, "couldn't read that file as audio")


def test_over_size_upload_is_refused(learner_client, school, audio_factory):
    """A real WAV one byte over the default limit (about 5.5 minutes of 16 kHz speech)."""
    limit = django_settings.AUDIO_MAX_UPLOAD_BYTES
    speech = audio_factory.speech(SPOKEN)
    long = audio_factory.looped(speech, seconds=(limit // 2) / 22050 + 1)
    content = long.read_bytes()[: limit + 1]
    assert len(content) == limit + 1
    response = upload(learner_client, school.lesson, content, name="long.wav",
                      content_type="audio/wav")
    _refused(response, 400, "too large", "10 MB")
    assert _media_files() == []


def test_over_size_upload_without_javascript_shows_the_page_with_the_reason(
    learner_client, school, settings
):
    settings.AUDIO_MAX_UPLOAD_BYTES = 1000
    response = upload(learner_client, school.lesson, b"RIFF" + b"\0" * 2000, htmx=False,
                      content_type="audio/wav")
    text = _refused(response, 400, "too large")
    assert school.lesson.reference_text in text  # the practice page again, with the reason


def test_wrong_field_name_is_refused(learner_client, school, audio_factory):
    response = upload(learner_client, school.lesson, audio_factory.speech(SPOKEN),
                      field="file", name="speech.wav", content_type="audio/wav")
    _refused(response, 400, "choose a recording")


def test_no_file_at_all_is_refused(learner_client, school):
    response = learner_client.post(reverse("attempt-upload", args=[school.lesson.pk]), {}, **HTMX)
    _refused(response, 400, "choose a recording")


def test_get_on_the_upload_url_is_not_allowed(learner_client, school):
    response = learner_client.get(reverse("attempt-upload", args=[school.lesson.pk]))
    assert response.status_code == 405


def test_lesson_that_does_not_exist_is_404(learner_client, school):
    missing = type(school.lesson)(pk=school.lesson.pk + 999)
    assert upload(learner_client, missing, b"RIFF").status_code == 404


# --- Accepted, then finished by the worker -------------------------------------------------


def test_truncated_webm_is_kept_and_fails_with_a_reason(learner_client, school, audio_factory):
    webm = audio_factory.transcode(audio_factory.speech(SPOKEN), "webm-stream")
    broken = audio_factory.truncated(webm, keep_bytes=300)
    content = broken.read_bytes()
    attempt = _accepted(upload(learner_client, school.lesson, content))
    attempt = run_task(attempt)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.failure_code in ("not_audio", "too_short")
    assert_finished_cleanly(attempt, original=content)


def test_webm_cut_mid_stream_is_still_scored_or_refused(learner_client, school, audio_factory):
    """A recording whose upload lost its tail: what is there is assessed."""
    webm = audio_factory.transcode(audio_factory.speech(SPOKEN), "webm-stream")
    content = webm.read_bytes()[: webm.stat().st_size * 2 // 3]
    attempt = run_task(_accepted(upload(learner_client, school.lesson, content)))
    assert_finished_cleanly(attempt, original=content)


def test_silence_is_kept_and_fails_with_no_speech(learner_client, school, audio_factory):
    silence = audio_factory.silence(seconds=60)
    content = silence.read_bytes()
    attempt = _accepted(upload(learner_client, school.lesson, content, name="quiet.wav",
                               content_type="audio/wav"))
    attempt = run_task(attempt)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.failure_code == "no_speech"
    assert "speech" in attempt.failure_message
    assert_finished_cleanly(attempt, original=content)


def test_white_noise_is_kept_and_never_scores_well(learner_client, school, audio_factory):
    noise = audio_factory.noise(seconds=4, dbfs=-20)
    content = noise.read_bytes()
    attempt = run_task(_accepted(upload(learner_client, school.lesson, content, name="noise.wav",
                                        content_type="audio/wav")))
    assert_finished_cleanly(attempt, original=content)
    if attempt.status == AttemptStatus.SUCCEEDED:
        assert attempt.pronunciation is not None and attempt.pronunciation < 50, (
            f"white noise scored {attempt.pronunciation}"
        )


@pytest.fixture(scope="module")
def two_hour_flac(tmp_path_factory) -> Path:
    """Speech followed by two hours of silence: 1.3 MB of FLAC, so under the size limit."""
    directory = tmp_path_factory.mktemp("long")
    speech = directory / "speech.wav"
    subprocess.run([require_tool("espeak-ng"), "-w", str(speech), "--", SPOKEN], check=True,
                   capture_output=True, timeout=60)
    target = directory / "two-hours.flac"
    subprocess.run(
        [
            require_tool("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(speech),
            "-f", "lavfi", "-t", "7200", "-i", "anullsrc=r=16000:cl=mono",
            "-filter_complex",
            "[0:a]aresample=16000,aformat=channel_layouts=mono[s];[s][1:a]concat=n=2:v=0:a=1",
            "-c:a", "flac", "-compression_level", "0", str(target),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    return target


def test_two_hour_file_is_cut_to_the_limit(learner_client, school, two_hour_flac):
    content = two_hour_flac.read_bytes()
    assert len(content) < django_settings.AUDIO_MAX_UPLOAD_BYTES
    attempt = run_task(_accepted(upload(learner_client, school.lesson, content, name="long.flac",
                                        content_type="audio/flac")))
    assert_finished_cleanly(attempt, original=content)
    assert attempt.status == AttemptStatus.SUCCEEDED, attempt.failure_message
    assert attempt.original_duration_ms is not None
    assert attempt.original_duration_ms > 7_000_000  # it knew the file was two hours long
    assert attempt.duration_ms is not None
    assert attempt.duration_ms <= django_settings.AUDIO_MAX_SECONDS * 1000


# --- File names are never trusted ------------------------------------------------------------


def _raw_multipart(filename: bytes, content: bytes, boundary: str = "b0undary") -> bytes:
    return b"\r\n".join(
        [
            f"--{boundary}".encode(),
            b'Content-Disposition: form-data; name="audio"; filename="' + filename + b'"',
            b"Content-Type: audio/wav",
            b"",
            content,
            f"--{boundary}--".encode(),
            b"",
        ]
    )


def _post_raw(client, lesson, filename: bytes, content: bytes):
    return client.generic(
        "POST",
        reverse("attempt-upload", args=[lesson.pk]),
        _raw_multipart(filename, content),
        content_type="multipart/form-data; boundary=b0undary",
        **HTMX,
    )


def _assert_stored_safely(attempt: Attempt, learner, content: bytes) -> None:
    media = Path(django_settings.MEDIA_ROOT).resolve()
    stored = Path(attempt.original_audio.path).resolve()
    assert stored.is_relative_to(media)
    assert attempt.original_audio.name == (
        f"recordings/{learner.pk}/{attempt.public_id.hex}/original"
    )
    assert stored.read_bytes() == content
    assert [p.resolve() for p in _media_files()] == [stored]


@pytest.mark.parametrize(
    "filename",
    [
        "\u5f55\u97f3 r\u00e9sum\u00e9 \U0001f3a4.wav".encode(),  # what browsers send: UTF-8
        b"../../../../etc/cron.d/evil.wav",
        b"..\\..\\..\\windows\\evil.wav",
        b"/absolute/path.wav",
        b"%2e%2e%2f%2e%2e%2fevil.wav",
        b"nul\x00byte.wav",
        b"a" * 251 + b".wav",
        b"",
    ],
    ids=["utf8-non-ascii", "traversal", "backslash-traversal", "absolute", "percent-encoded",
         "nul-byte", "255-bytes", "empty-name"],
)
def test_hostile_file_names_never_reach_the_disk(learner_client, school, audio_factory, filename):
    content = audio_factory.speech(SPOKEN).read_bytes()
    response = _post_raw(learner_client, school.lesson, filename, content)
    if filename == b"":  # a part without a file name is a form field, not a file
        _refused(response, 400, "choose a recording")
        return
    _assert_stored_safely(_accepted(response), school.learner, content)


@pytest.mark.parametrize(
    "filename",
    [
        "r\u00e9cording.wav".encode("latin-1"),
        b"\xff\xfe\xfd.wav",
        "\u5f55\u97f3.wav".encode("gb18030"),
        b"a" * 9000 + b".wav",
    ],
    ids=["latin1", "invalid-bytes", "gb18030", "9000-bytes"],
)
def test_unreadable_file_names_are_refused_with_a_reason_and_store_nothing(
    learner_client, school, audio_factory, filename
):
    """Django cannot read a part header that is not UTF-8 (it drops the part), or one longer
    than it allows (the body is unreadable). No browser sends either; whoever does is told
    the file's name is the problem, not asked to choose a recording they already sent."""
    content = audio_factory.speech(SPOKEN).read_bytes()
    response = _post_raw(learner_client, school.lesson, filename, content)
    text = _refused(response, 400, "couldn't read that upload", "name", "recording.wav")
    assert 'id="upload-error"' in text
    assert "choose a recording" not in text.lower()
    assert "Bad Request" not in text
    assert _media_files() == []


def test_over_long_file_name_without_javascript_shows_the_page_with_the_reason(
    learner_client, school, audio_factory
):
    content = audio_factory.speech(SPOKEN).read_bytes()
    response = learner_client.generic(
        "POST",
        reverse("attempt-upload", args=[school.lesson.pk]),
        _raw_multipart(b"a" * 9000 + b".wav", content),
        content_type="multipart/form-data; boundary=b0undary",
    )
    text = _refused(response, 400, "couldn't read that upload")
    assert school.lesson.reference_text in text  # the practice page again, with the reason


# --- Double submit ---------------------------------------------------------------------------


def test_double_submit_makes_one_attempt(learner_client, school, audio_factory):
    content = audio_factory.speech(SPOKEN).read_bytes()
    token = "6f0d7d1e-3a52-4d43-9b0f-1f2a3b4c5d6e"
    first = upload(learner_client, school.lesson, content, name="a.wav", content_type="audio/wav",
                   submission_id=token)
    second = upload(learner_client, school.lesson, content, name="a.wav",
                    content_type="audio/wav", submission_id=token)
    assert first.status_code == 202
    assert second.status_code == 202
    attempt = Attempt.objects.get()  # exactly one
    assert str(attempt.public_id) in refusal_text(second)


def test_double_submit_without_javascript_redirects_to_the_same_attempt(
    learner_client, school, audio_factory
):
    content = audio_factory.speech(SPOKEN).read_bytes()
    token = "0b8f4e4c-6f6e-4b1c-8d57-3c5a1e2f9a10"
    responses = [
        upload(learner_client, school.lesson, content, name="a.wav", content_type="audio/wav",
               htmx=False, submission_id=token)
        for _ in range(3)
    ]
    attempt = Attempt.objects.get()
    target = reverse("attempt-detail", args=[attempt.public_id])
    assert [(r.status_code, r["Location"]) for r in responses] == [(302, target)] * 3


def test_a_refused_upload_can_be_sent_again_with_the_same_token(learner_client, school,
                                                               audio_factory):
    token = "d3c1f8a2-1111-4e5e-9c9c-2b2b2b2b2b2b"
    refused = upload(learner_client, school.lesson, b"", submission_id=token)
    assert refused.status_code == 400
    accepted = upload(learner_client, school.lesson, audio_factory.speech(SPOKEN), name="a.wav",
                      content_type="audio/wav", submission_id=token)
    assert accepted.status_code == 202


# --- A crafted mime_type field is not trusted ------------------------------------------------


def test_crafted_mime_type_is_ignored(learner_client, school, audio_factory):
    content = audio_factory.speech(SPOKEN).read_bytes()
    response = upload(learner_client, school.lesson, content, name="a.wav",
                      content_type="audio/wav", mime_type="text/html; charset=utf-8")
    attempt = _accepted(response)
    assert attempt.original_content_type == "audio/wav"
    audio = learner_client.get(reverse("attempt-audio", args=[attempt.public_id]))
    assert audio["Content-Type"].startswith("audio/")
    assert audio["X-Content-Type-Options"] == "nosniff"


# --- Tampered hidden fields are ignored, never an error the learner cannot act on -----------


@pytest.mark.parametrize(
    "fields",
    [
        {"submission_id": "not-a-uuid"},
        {"submission_id": "x" * 5000},
        {"submission_id": "6f0d7d1e-3a52-4d43-9b0f-1f2a3b4c5d6e\u0000"},
        {"mime_type": "audio/webm;codecs=" + "opus," * 200},
        {"mime_type": "a" * 100_000},
        {"mime_type": "audio/wav\u0000<script>"},
        {"submission_id": "{bad}", "mime_type": "audio/" + "x" * 150},
    ],
    ids=["bad-uuid", "long-uuid", "nul-uuid", "long-codecs", "huge-mime", "nul-mime", "both"],
)
def test_tampered_hidden_fields_are_ignored(learner_client, school, audio_factory, fields):
    content = audio_factory.speech(SPOKEN).read_bytes()
    response = upload(learner_client, school.lesson, content, name="a.wav",
                      content_type="audio/wav", **fields)
    text = refusal_text(response)
    assert "Enter a valid UUID" not in text
    assert "Ensure this value" not in text
    attempt = _accepted(response)
    assert attempt.original_content_type == "audio/wav"  # the part's own type, not the hint


def test_a_bad_token_is_ignored_so_each_send_is_its_own_attempt(learner_client, school,
                                                               audio_factory):
    """Without a readable token there is nothing to de-duplicate on: both are kept."""
    content = audio_factory.speech(SPOKEN).read_bytes()
    for _ in range(2):
        _ = upload(learner_client, school.lesson, content, name="a.wav",
                   content_type="audio/wav", submission_id="not-a-uuid")
    assert Attempt.objects.count() == 2


def test_upload_does_not_leave_temporary_files_behind(learner_client, school, audio_factory,
                                                      tmp_path, settings):
    """Large uploads spill to a temporary file; it is gone once the request is answered."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    content = audio_factory.speech(SPOKEN).read_bytes()
    _accepted(upload(learner_client, school.lesson, content, name="a.wav",
                     content_type="audio/wav"))
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []
