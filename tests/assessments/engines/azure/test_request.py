"""What the client puts on the wire, checked without a server."""

from __future__ import annotations

import base64
import json
import wave
from io import BytesIO

import pytest

from assessments.engines.azure import AzureAudioRejected
from assessments.engines.azure.request import (
    assessment_header,
    assessment_payload,
    check_settings,
    iter_chunks,
    new_connection_id,
    prepare_audio,
    query_params,
    request_headers,
)
from assessments.engines.base import AssessmentSettings, InvalidSettings

from .conftest import make_wav

TRICKY = 'She said "don\'t" — naïve café, 東京, back\\slash, emoji 🎤 and a {brace}.'


def decode(header: str) -> dict:
    return json.loads(base64.b64decode(header, validate=True).decode("utf-8"))


def test_header_round_trips_unicode_quotes_and_backslashes():
    settings = AssessmentSettings(reference_text=TRICKY)

    header = assessment_header(settings)

    assert header.isascii()
    assert decode(header)["ReferenceText"] == TRICKY
    assert decode(header) == assessment_payload(settings)


def test_payload_keys_and_optional_fields():
    plain = assessment_payload(
        AssessmentSettings(
            reference_text="Hello", enable_prosody=False, enable_miscue=False, dimension="Basic"
        )
    )
    assert plain == {
        "ReferenceText": "Hello",
        "GradingSystem": "HundredMark",
        "Granularity": "Phoneme",
        "Dimension": "Basic",
        "EnableMiscue": "False",
        "EnableProsodyAssessment": "False",
    }
    full = assessment_payload(
        AssessmentSettings(
            reference_text="Hello",
            phoneme_alphabet="IPA",
            nbest_phoneme_count=5,
            scenario_id="0f8fad5b-d9cb-469f-a165-70867728950e",
        )
    )
    assert full["PhonemeAlphabet"] == "IPA"
    assert full["NBestPhonemeCount"] == 5
    assert full["ScenarioId"] == "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize(
    "overrides",
    [
        {"locale": "de-DE", "enable_prosody": True},
        {"locale": "fr-FR", "enable_prosody": False, "phoneme_alphabet": "IPA"},
        {"locale": "en-GB", "enable_prosody": False, "nbest_phoneme_count": 3},
        {"granularity": "Word", "nbest_phoneme_count": 3},
        {"scenario_id": "not-a-guid"},
        {"reference_text": "   "},
        {"locale": "xx-XX", "enable_prosody": False},
    ],
)
def test_invalid_combinations_are_refused(overrides):
    settings = AssessmentSettings(**{"reference_text": "Hello", **overrides})
    with pytest.raises(InvalidSettings):
        check_settings(settings)


def test_prosody_with_full_text_granularity_is_not_refused():
    # Neither the seeds nor the contract restrict prosody by granularity: FullText still
    # gets the utterance's ProsodyScore, only the per-word feedback is absent.
    check_settings(AssessmentSettings(reference_text="Hello", granularity="FullText"))


def test_query_params():
    assert query_params(locale="en-GB") == {"language": "en-GB", "format": "detailed"}
    assert query_params(locale="en-US", profanity="raw", cid="abc") == {
        "language": "en-US",
        "format": "detailed",
        "profanity": "raw",
        "cid": "abc",
    }


def test_headers_streamed_and_whole():
    common = {"assessment": "e30=", "connection_id": new_connection_id(), "auth": ("K", "v")}
    streamed = request_headers(**common, stream=True)
    whole = request_headers(**common, stream=False)

    assert streamed["Content-Type"] == "audio/wav; codecs=audio/pcm; samplerate=16000"
    assert streamed["Accept"] == "application/json"
    assert streamed["Transfer-Encoding"] == "chunked"
    assert streamed["Expect"] == "100-continue"
    assert "Transfer-Encoding" not in whole and "Expect" not in whole
    assert len(common["connection_id"]) == 32 and "-" not in common["connection_id"]


def test_chunks_reassemble_and_first_carries_the_header():
    audio = prepare_audio(make_wav(seconds=0.5))

    chunks = list(iter_chunks(audio, chunk_size=1000))

    assert b"".join(chunks) == audio.wav
    assert len(chunks[0]) >= audio.header_length == 44
    assert chunks[0][:4] == b"RIFF" and all(c[:4] != b"RIFF" for c in chunks[1:])


def test_audio_over_30_seconds_is_trimmed():
    audio = prepare_audio(make_wav(seconds=31.0))

    assert audio.trimmed
    assert audio.duration_ms == 30_000
    with wave.open(BytesIO(audio.wav)) as reader:
        assert reader.getnframes() == 30 * 16000


@pytest.mark.parametrize(
    ("wav", "code"),
    [
        (make_wav(rate=44100), "unsupported_audio"),
        (make_wav(channels=2), "unsupported_audio"),
        (b"not a wav at all", "unsupported_audio"),
        (make_wav(seconds=0), "empty_audio"),
    ],
)
def test_unusable_audio_is_refused_locally(wav, code):
    with pytest.raises(AzureAudioRejected) as caught:
        prepare_audio(wav)
    assert caught.value.code == code
    assert not caught.value.retryable


def _extensible(wav: bytes, subformat: bytes) -> bytes:
    """The same samples behind a WAVE_FORMAT_EXTENSIBLE header."""
    fmt = (
        (0xFFFE).to_bytes(2, "little")
        + wav[22:36]  # channels, rate, byte rate, block align, bits
        + (22).to_bytes(2, "little")
        + (16).to_bytes(2, "little")
        + (4).to_bytes(4, "little")
        + subformat
    )
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + wav[36:]
    return b"RIFF" + len(body).to_bytes(4, "little") + body


PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")
FLOAT_GUID = bytes.fromhex("0300000000001000800000aa00389b71")


def test_extensible_pcm_is_sent_as_plain_pcm():
    plain = make_wav(seconds=0.5)

    audio = prepare_audio(_extensible(plain, PCM_GUID))

    assert audio.wav == plain and audio.header_length == 44 and not audio.trimmed


def test_extensible_float_is_refused():
    with pytest.raises(AzureAudioRejected):
        prepare_audio(_extensible(make_wav(seconds=0.5), FLOAT_GUID))


def test_exactly_30_seconds_is_sent_whole():
    wav = make_wav(seconds=30.0)

    audio = prepare_audio(wav)

    assert not audio.trimmed and audio.wav == wav and audio.duration_ms == 30_000
