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
    if settings.enable_prosody and settings.granularity == "FullText":
        problems.append("Prosody feedback is per word; it needs Word or Phoneme granularity.")
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
        # requests frames an iterator body as chunked; the header states it explicitly and
        # Expect lets the service refuse (401, 400) before the audio is uploaded.
        headers["Transfer-Encoding"] = "chunked"
        headers["Expect"] = "100-continue"
    return headers


@dataclass(frozen=True)
class PreparedAudio:
    wav: bytes
    header_length: int  # bytes before the first sample: the first chunk must hold them all
    duration_ms: int
    trimmed: bool


def prepare_audio(wav: bytes) -> PreparedAudio:
    """Check the WAV is 16 kHz mono 16-bit PCM and cut it to the 30 s Azure assesses."""
    try:
        with wave.open(io.BytesIO(wav), "rb") as reader:
            channels, width, rate, frames = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
                reader.getnframes(),
            )
    except (wave.Error, EOFError) as exc:
        raise AzureAudioRejected(
            "unsupported_audio", LEARNER_AUDIO, operator_message=f"Not a PCM WAV file: {exc}."
        ) from exc
    if (channels, width, rate) != (1, 2, SAMPLE_RATE):
        raise AzureAudioRejected(
            "unsupported_audio",
            LEARNER_AUDIO,
            operator_message=(
                f"Azure needs 16 kHz mono 16-bit PCM; got {rate} Hz, {channels} channel(s), "
                f"{width * 8}-bit."
            ),
        )
    data_at = _data_offset(wav)
    available = (len(wav) - data_at) // 2
    frames = min(frames, available)
    if frames <= 0:
        raise AzureAudioRejected(
            "empty_audio", LEARNER_AUDIO, operator_message="The WAV file holds no samples."
        )
    limit = MAX_ASSESSED_SECONDS * SAMPLE_RATE
    if frames > limit:
        return PreparedAudio(
            wav=_pcm_to_wav(wav[data_at : data_at + limit * 2]),
            header_length=44,
            duration_ms=MAX_ASSESSED_SECONDS * 1000,
            trimmed=True,
        )
    return PreparedAudio(
        wav=wav, header_length=data_at, duration_ms=frames * 1000 // SAMPLE_RATE, trimmed=False
    )


def _data_offset(wav: bytes) -> int:
    """Offset of the first sample: walk the RIFF chunks to ``data`` (LIST chunks vary)."""
    position = 12
    while position + 8 <= len(wav):
        chunk_id = wav[position : position + 4]
        size = int.from_bytes(wav[position + 4 : position + 8], "little")
        if chunk_id == b"data":
            return position + 8
        position += 8 + size + (size & 1)
    return len(wav)


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
