"""What goes on the wire: query string, headers, the Pronunciation-Assessment header, audio.

Pure functions with no I/O, so they are cheap to test and to benchmark.
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
import wave
from collections.abc import Iterator
from dataclasses import dataclass

from assessments.engines.azure.errors import LEARNER_AUDIO, AzureAudioRejected
from assessments.engines.base import AssessmentSettings, InvalidSettings

CONTENT_TYPE = "audio/wav; codecs=audio/pcm; samplerate=16000"
ACCEPT = "application/json"
SAMPLE_RATE = 16_000
# Pronunciation assessment only scores the first 30 s of audio.
MAX_ASSESSED_SECONDS = 30
_GUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def new_connection_id() -> str:
    """A 32-hex id without dashes: the only ``X-ConnectionId`` form Azure keeps."""
    return uuid.uuid4().hex


def _flag(value: bool) -> str:
    # Microsoft's REST reference documents the flags as the strings "True" / "False".
    return "True" if value else "False"


def check_settings(settings: AssessmentSettings) -> None:
    """Refuse combinations Azure would reject or silently ignore, before any request."""
    settings.validate()
    problems = []
    if settings.scenario_id and not _GUID.match(settings.scenario_id):
        problems.append("ScenarioId must be a GUID.")
    if settings.nbest_phoneme_count > 0 and settings.granularity != "Phoneme":
        problems.append("N-best phonemes need Phoneme granularity.")
    if settings.phoneme_alphabet and settings.granularity != "Phoneme":
        problems.append("A phoneme alphabet needs Phoneme granularity.")
    if problems:
        raise InvalidSettings(" ".join(problems))


def assessment_payload(settings: AssessmentSettings) -> dict[str, object]:
    """The Pronunciation-Assessment JSON object for a lesson's settings."""
    payload: dict[str, object] = {
        "ReferenceText": settings.reference_text,
        "GradingSystem": settings.grading_system,
        "Granularity": settings.granularity,
        "Dimension": settings.dimension,
        "EnableMiscue": _flag(settings.enable_miscue),
        "EnableProsodyAssessment": _flag(settings.enable_prosody),
    }
    if settings.phoneme_alphabet:
        payload["PhonemeAlphabet"] = settings.phoneme_alphabet
    if settings.nbest_phoneme_count > 0:
        payload["NBestPhonemeCount"] = settings.nbest_phoneme_count
    if settings.scenario_id:
        payload["ScenarioId"] = settings.scenario_id
    return payload


def assessment_header(settings: AssessmentSettings) -> str:
    """base64 (standard alphabet) of the UTF-8 JSON; a serializer, never string splicing,
    so quotes, backslashes and non-ASCII reference text survive intact."""
    text = json.dumps(assessment_payload(settings), ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def query_params(*, locale: str, profanity: str = "", cid: str = "") -> dict[str, str]:
    params = {"language": locale, "format": "detailed"}
    if profanity:
        params["profanity"] = profanity
    if cid:
        params["cid"] = cid
    return params


def request_headers(
    *, assessment: str, connection_id: str, auth: tuple[str, str], stream: bool
) -> dict[str, str]:
    headers = {
        "Content-Type": CONTENT_TYPE,
        "Accept": ACCEPT,
        "Pronunciation-Assessment": assessment,
        "X-ConnectionId": connection_id,
        auth[0]: auth[1],
    }
    if stream:
        # requests frames an iterator body as chunked; the header states it explicitly.
        # Microsoft requires Expect with chunked uploads. urllib3 does not wait for the
        # interim 100 before sending the body; a refusal the service sends instead of the
        # 100 (bad key …) is still read, since urllib3 reads the answer after a broken pipe.
        headers["Transfer-Encoding"] = "chunked"
        headers["Expect"] = "100-continue"
    return headers


@dataclass(frozen=True)
class PreparedAudio:
    wav: bytes
    header_length: int  # bytes before the first sample: the first chunk must hold them all
    duration_ms: int
    trimmed: bool


# A data size a recorder writes when it cannot seek back to fill it in (piped ffmpeg …).
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


def prepare_audio(wav: bytes) -> PreparedAudio:
    """Check the WAV is 16 kHz mono 16-bit PCM, cut it to the 30 s Azure assesses, and make
    its header agree with its data.

    A header whose sizes disagree with the bytes that follow (a recording cut short, a
    streamed header with placeholder sizes, chunks after ``data``), or an extensible PCM
    header, is rewritten as a plain 44-byte PCM header over the samples actually present:
    Azure refuses or misreads such files.
    """
    try:
        tag, channels, rate, width, data_at, declared = _read_header(wav)
    except ValueError as exc:
        raise AzureAudioRejected(
            "unsupported_audio", LEARNER_AUDIO, operator_message=f"Not a PCM WAV file: {exc}."
        ) from exc
    if tag not in (_PCM, _EXTENSIBLE) or (channels, width, rate) != (1, 2, SAMPLE_RATE):
        raise AzureAudioRejected(
            "unsupported_audio",
            LEARNER_AUDIO,
            operator_message=(
                f"Azure needs 16 kHz mono 16-bit PCM; got format {tag:#x}, {rate} Hz, "
                f"{channels} channel(s), {width * 8}-bit."
            ),
        )
    remaining = len(wav) - data_at
    size = remaining if declared in _UNKNOWN_SIZES else min(declared, remaining)
    frames = size // 2
    if frames <= 0:
        raise AzureAudioRejected(
            "empty_audio", LEARNER_AUDIO, operator_message="The WAV file holds no samples."
        )
    limit = MAX_ASSESSED_SECONDS * SAMPLE_RATE
    trimmed = frames > limit
    frames = min(frames, limit)
    consistent = (
        not trimmed
        and tag == _PCM  # an extensible header is rewritten as the plain PCM one
        and declared == remaining == frames * 2
        and int.from_bytes(wav[4:8], "little") == len(wav) - 8
    )
    if not consistent:
        return PreparedAudio(
            wav=_pcm_to_wav(wav[data_at : data_at + frames * 2]),
            header_length=44,
            duration_ms=frames * 1000 // SAMPLE_RATE,
            trimmed=trimmed,
        )
    return PreparedAudio(
        wav=wav, header_length=data_at, duration_ms=frames * 1000 // SAMPLE_RATE, trimmed=False
    )


_PCM = 0x0001
_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM, the sub-format GUID of an extensible PCM header.
_PCM_SUBFORMAT = bytes.fromhex("0100000000001000800000aa00389b71")


def _read_header(wav: bytes) -> tuple[int, int, int, int, int, int]:
    """``(format tag, channels, rate, bytes per sample, first sample offset, declared data
    size)`` from the RIFF chunks. Written by hand rather than with :mod:`wave`, which refuses
    headers whose RIFF size is a placeholder (0 or 0xFFFFFFFF, as streaming recorders write).
    """
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("no RIFF/WAVE header")
    fmt: tuple[int, int, int, int] | None = None
    position = 12
    while position + 8 <= len(wav):
        chunk_id = wav[position : position + 4]
        size = int.from_bytes(wav[position + 4 : position + 8], "little")
        body = position + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(wav):
                raise ValueError("short fmt chunk")
            tag = int.from_bytes(wav[body : body + 2], "little")
            channels = int.from_bytes(wav[body + 2 : body + 4], "little")
            rate = int.from_bytes(wav[body + 4 : body + 8], "little")
            bits = int.from_bytes(wav[body + 14 : body + 16], "little")
            if tag == _EXTENSIBLE and (size < 40 or wav[body + 24 : body + 40] != _PCM_SUBFORMAT):
                tag = -1  # extensible, but not PCM
            fmt = (tag, channels, rate, (bits + 7) // 8)
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError("data before fmt")
            return (*fmt, body, size)
        position = body + size + (size & 1)
    raise ValueError("no fmt and data chunks")


def _pcm_to_wav(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(pcm)
    return buffer.getvalue()


def iter_chunks(audio: PreparedAudio, *, chunk_size: int) -> Iterator[bytes]:
    """Stream the WAV; the first chunk carries the whole header and the header only once."""
    data = memoryview(audio.wav)
    first = max(chunk_size, audio.header_length)
    yield bytes(data[:first])
    for start in range(first, len(data), chunk_size):
        yield bytes(data[start : start + chunk_size])
