"""The conversion service on real files: every accepted format, every refusal, the trims."""

from __future__ import annotations

import io
import pickle
import tempfile
import wave

import numpy as np
import pytest

from assessments.audio import (
    AudioRejected,
    ConvertedAudio,
    audio_check_upload,
    audio_convert,
    audio_sniff_format,
)
from assessments.engines.base import AssessmentError

SPEECH = "Good morning. Today we read a short sentence together, slowly and clearly."


def decoded(converted: ConvertedAudio) -> np.ndarray:
    """The converted WAV's samples, after checking it is exactly what the engines take."""
    with wave.open(io.BytesIO(converted.wav), "rb") as handle:
        assert handle.getframerate() == 16_000
        assert handle.getnchannels() == 1
        assert handle.getsampwidth() == 2
        assert handle.getcomptype() == "NONE"
        frames = handle.readframes(handle.getnframes())
    samples = np.frombuffer(frames, dtype="<i2")
    assert converted.duration_ms == len(samples) * 1000 // 16_000
    return samples


def rms_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples / 32768.0)))))


def wav_seconds(path) -> float:
    with wave.open(str(path), "rb") as handle:
        return handle.getnframes() / handle.getframerate()


@pytest.fixture(scope="module")
def speech(audio_factory):
    return audio_factory.speech(SPEECH)


@pytest.fixture(scope="module")
def speech_reference(speech):
    """Length and level of the speech converted from its original WAV, to compare against."""
    converted = audio_convert(source=speech)
    return converted.duration_ms, rms_dbfs(decoded(converted))


@pytest.mark.parametrize(
    ("fmt", "sniffed"),
    [
        ("webm", "webm"),
        ("webm-stream", "webm"),
        ("ogg", "ogg"),
        ("ogg-vorbis", "ogg"),
        ("mp4", "mp4"),
        ("aac", "aac"),
        ("mp3", "mp3"),
        ("flac", "flac"),
        ("wav-float", "wav"),
    ],
)
def test_browser_and_upload_formats_convert_to_engine_wav(
    audio_factory, speech, speech_reference, fmt, sniffed
):
    reference_ms, reference_dbfs = speech_reference
    source = audio_factory.transcode(speech, fmt, rate=48_000)

    converted = audio_convert(source=source)

    samples = decoded(converted)
    assert converted.source_format == sniffed
    # Codecs add a few ms of priming/padding; the silence trim removes most of it again.
    assert abs(converted.duration_ms - reference_ms) < 120
    assert abs(rms_dbfs(samples) - reference_dbfs) < 1.5
    assert abs(converted.original_duration_ms - wav_seconds(speech) * 1000) < 150
    assert converted.trimmed is False


@pytest.mark.parametrize(
    ("rate", "channels", "sample_width"),
    [
        (8_000, 1, 1),
        (11_025, 1, 2),
        (16_000, 1, 2),
        (22_050, 2, 2),
        (44_100, 2, 3),
        (48_000, 1, 4),
        (96_000, 2, 2),
    ],
)
def test_wav_at_any_rate_depth_and_channel_count(
    audio_factory, speech, speech_reference, rate, channels, sample_width
):
    reference_ms, reference_dbfs = speech_reference
    source = audio_factory.transcode(
        speech, "wav", rate=rate, channels=channels, sample_width=sample_width
    )

    converted = audio_convert(source=source)

    samples = decoded(converted)
    assert converted.source_format == "wav"
    assert abs(converted.duration_ms - reference_ms) < 30
    # 8-bit adds quantisation noise, nothing else should change the level.
    assert abs(rms_dbfs(samples) - reference_dbfs) < 1.0
    assert abs(converted.original_duration_ms - wav_seconds(speech) * 1000) <= 2


def test_stereo_is_mixed_down_without_losing_level(audio_factory):
    stereo = audio_factory.tone(seconds=2.0, dbfs=-12.0, channels=2, rate=44_100)

    samples = decoded(audio_convert(source=stereo))

    assert rms_dbfs(samples) == pytest.approx(-15.05, abs=0.1)  # a sine's RMS is 3 dB below peak


def test_bytes_and_paths_give_the_same_audio(audio_factory, speech):
    webm = audio_factory.transcode(speech, "webm")

    from_path = audio_convert(source=webm)
    from_bytes = audio_convert(source=webm.read_bytes())

    assert from_bytes == from_path


def test_content_decides_not_the_file_name(audio_factory, speech):
    webm_called_mp3 = audio_factory.renamed(audio_factory.transcode(speech, "webm"), name="a.mp3")
    png_called_wav = audio_factory.renamed(audio_factory.png(), name="voice.wav")

    assert audio_convert(source=webm_called_mp3).source_format == "webm"
    with pytest.raises(AudioRejected) as refused:
        audio_convert(source=png_called_wav)
    assert refused.value.code == "not_audio"


def test_file_names_are_never_parsed_by_a_shell_or_as_ffmpeg_urls(audio_factory, speech):
    name = "concat:-y; touch pwned $(touch pwned2) | x.wav"
    source = audio_factory.renamed(audio_factory.transcode(speech, "flac"), name=name)

    converted = audio_convert(source=source)

    assert converted.source_format == "flac"
    assert not list(source.parent.glob("pwned*"))


def _refusal(source, **kwargs) -> AudioRejected:
    with pytest.raises(AudioRejected) as refused:
        audio_convert(source=source, **kwargs)
    error = refused.value
    assert isinstance(error, AssessmentError)
    assert error.learner_message and "Traceback" not in error.learner_message
    assert error.retryable is False
    return error


def test_refuses_empty_files_and_bytes(audio_factory):
    assert _refusal(audio_factory.file("empty.webm", b"")).code == "empty"
    assert _refusal(b"").code == "empty"


def test_refuses_files_over_the_upload_limit(audio_factory, speech, settings):
    settings.AUDIO_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    big = audio_factory.transcode(speech, "wav", rate=96_000, channels=2, sample_width=4)
    assert big.stat().st_size > settings.AUDIO_MAX_UPLOAD_BYTES

    error = _refusal(big)

    assert error.code == "too_large"
    assert "2 MB" in error.learner_message


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda f, s: f.png(), id="png-image"),
        pytest.param(lambda f, s: f.file("notes.wav", b"hello, this is text\n" * 50), id="text"),
        pytest.param(
            lambda f, s: f.file("noise.webm", np.random.default_rng(3).bytes(4096)), id="random"
        ),
        pytest.param(
            lambda f, s: f.file("fake.ogg", b"OggS" + np.random.default_rng(4).bytes(4096)),
            id="ogg-magic-then-garbage",
        ),
        pytest.param(
            lambda f, s: f.truncated(f.transcode(s, "webm"), keep_bytes=150), id="truncated-webm"
        ),
        pytest.param(
            lambda f, s: f.truncated(f.transcode(s, "mp4"), keep_bytes=400), id="truncated-mp4"
        ),
        pytest.param(
            lambda f, s: f.truncated(f.transcode(s, "wav"), keep_bytes=44), id="wav-header-only"
        ),
        pytest.param(lambda f, s: f.video_only(), id="video-without-sound"),
    ],
)
def test_refuses_what_is_not_audio_or_is_corrupt(audio_factory, speech, make):
    error = _refusal(make(audio_factory, speech))

    assert error.code == "not_audio"
    assert "WAV" in error.learner_message  # tells the learner what would work


def test_a_recording_cut_off_part_way_keeps_what_arrived(audio_factory, speech, speech_reference):
    reference_ms, _ = speech_reference
    webm = audio_factory.transcode(speech, "webm")
    half = audio_factory.truncated(webm, keep_bytes=webm.stat().st_size // 2)

    converted = audio_convert(source=half)

    decoded(converted)
    assert 0.3 * reference_ms < converted.duration_ms < 0.7 * reference_ms


def test_refuses_recordings_shorter_than_the_minimum(audio_factory):
    error = _refusal(audio_factory.tone(seconds=0.2, dbfs=-6.0))
    assert error.code == "too_short"
    assert "too short" in error.learner_message


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda f: f.silence(seconds=3.0), id="digital-silence"),
        pytest.param(lambda f: f.noise(seconds=3.0, dbfs=-70.0), id="mic-hiss"),
        pytest.param(
            lambda f: f.transcode(f.silence(seconds=3.0, rate=48_000), "webm"), id="silent-webm"
        ),
    ],
)
def test_refuses_recordings_without_speech(audio_factory, make):
    error = _refusal(make(audio_factory))

    assert error.code == "no_speech"
    assert "speech" in error.learner_message


def test_silence_threshold_is_a_setting(audio_factory, settings):
    quiet = audio_factory.tone(seconds=2.0, dbfs=-45.0)  # RMS about -48 dBFS

    assert audio_convert(source=quiet).duration_ms == 2000
    settings.AUDIO_SILENCE_DBFS = -40.0
    assert _refusal(quiet).code == "no_speech"


def test_long_leading_and_trailing_silence_is_trimmed_with_padding(audio_factory, settings):
    tone = audio_factory.tone(seconds=2.0, dbfs=-12.0)
    padded = audio_factory.padded(tone, before=4.0, after=6.0)

    converted = audio_convert(source=padded)

    samples = decoded(converted)
    assert converted.duration_ms == pytest.approx(2_000 + 2 * 300, abs=10)
    assert converted.original_duration_ms == 12_000
    assert converted.trimmed is False  # only silence went
    # The kept padding is silent and the sound follows it.
    assert not samples[: 16 * 290].any()
    assert np.abs(samples[16 * 310 : 16 * 400]).max() > 1000

    settings.AUDIO_KEEP_SILENCE_MS = 800
    assert audio_convert(source=padded).duration_ms == pytest.approx(2_000 + 2 * 800, abs=10)


def test_speech_keeps_its_pauses_and_loses_long_silence(audio_factory, speech, speech_reference):
    reference_ms, _ = speech_reference
    padded = audio_factory.padded(speech, before=4.0, after=6.0)

    converted = audio_convert(source=padded)

    # At most the 2 × 300 ms padding longer than the speech, which espeak-ng already pads.
    assert reference_ms <= converted.duration_ms <= reference_ms + 600


def test_short_silences_are_kept(audio_factory):
    padded = audio_factory.padded(audio_factory.tone(seconds=2.0), before=0.1, after=0.2)

    converted = audio_convert(source=padded)

    assert converted.duration_ms == pytest.approx(2_300, abs=10)


def test_speech_is_cut_to_the_maximum_and_reported(audio_factory, speech):
    long = audio_factory.looped(speech, seconds=45.0)

    converted = audio_convert(source=long)

    decoded(converted)
    assert converted.duration_ms == 30_000
    assert converted.original_duration_ms == 45_000
    assert converted.trimmed is True


def test_maximum_length_is_a_setting_and_an_argument(audio_factory, speech, settings):
    long = audio_factory.looped(speech, seconds=12.0)

    settings.AUDIO_MAX_SECONDS = 5.0
    assert audio_convert(source=long).duration_ms == 5_000
    short = audio_convert(source=long, max_seconds=2.5)
    assert (short.duration_ms, short.trimmed) == (2_500, True)
    assert audio_convert(source=long, max_seconds=20.0).trimmed is False


def test_leading_silence_does_not_eat_into_the_maximum(audio_factory, speech):
    late_start = audio_factory.padded(audio_factory.looped(speech, seconds=31.0), before=5.0)

    converted = audio_convert(source=late_start)

    samples = decoded(converted)
    assert converted.duration_ms == 30_000
    assert converted.trimmed is True
    assert not samples[: 16 * 250].any()  # starts at the speech (after the padding)


def test_hour_long_files_are_not_decoded_whole(audio_factory, speech):
    # 10 minutes of 8 kHz 8-bit speech: under the upload limit, far over the maximum.
    long = audio_factory.looped(speech, seconds=600.0, rate=8_000, sample_width=1)

    converted = audio_convert(source=long)

    assert converted.duration_ms == 30_000
    assert converted.original_duration_ms == pytest.approx(600_000, abs=50)
    assert converted.trimmed is True


def test_browser_webm_without_a_declared_duration_reports_its_real_length(audio_factory, speech):
    stream = audio_factory.transcode(audio_factory.looped(speech, seconds=42.0), "webm-stream")

    converted = audio_convert(source=stream)

    assert converted.duration_ms == 30_000
    assert converted.original_duration_ms == pytest.approx(42_000, abs=60)
    assert converted.trimmed is True


def test_temporary_files_are_always_removed(audio_factory, speech, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    webm = audio_factory.transcode(speech, "webm").read_bytes()

    audio_convert(source=webm)
    with pytest.raises(AudioRejected):
        audio_convert(source=b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioRejected):
        audio_convert(source=audio_factory.silence(seconds=1.0).read_bytes())

    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", "wav"),
        (b"OggS\x00\x02" + bytes(20), "ogg"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "webm"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00", "mp4"),
        (b"\x00\x00\x00\x18ftypmp42", "mp4"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64", "mp3"),
        (b"\xff\xf1\x50\x80", "aac"),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"%PDF-1.7", None),
        (b"<html>", None),
        (b"RIFF\x24\x08\x00\x00AVI ", None),
        (b"", None),
    ],
)
def test_sniff_format_reads_magic_bytes(head, expected):
    assert audio_sniff_format(head=head) == expected


def test_upload_check_refuses_cheaply(settings):
    settings.AUDIO_MAX_UPLOAD_BYTES = 1000
    assert audio_check_upload(size=999, head=b"OggS\x00\x02") == "ogg"

    with pytest.raises(AudioRejected) as empty:
        audio_check_upload(size=0, head=b"")
    with pytest.raises(AudioRejected) as large:
        audio_check_upload(size=1001, head=b"OggS\x00\x02")
    with pytest.raises(AudioRejected) as image:
        audio_check_upload(size=500, head=b"\x89PNG\r\n\x1a\n")

    assert [empty.value.code, large.value.code, image.value.code] == [
        "empty",
        "too_large",
        "not_audio",
    ]
    assert "1001" in large.value.operator_message


def test_refusals_survive_pickling_for_worker_processes(audio_factory):
    with pytest.raises(AudioRejected) as refused:
        audio_convert(source=audio_factory.silence(seconds=1.0))

    copy = pickle.loads(pickle.dumps(refused.value))  # noqa: S301 - our own bytes

    assert type(copy) is AudioRejected
    assert (copy.code, copy.learner_message, copy.operator_message) == (
        refused.value.code,
        refused.value.learner_message,
        refused.value.operator_message,
    )
