"""The refusal every audio step raises, and the cheap checks made before an upload is stored.

The container is decided by the file's first bytes, never by its name or declared MIME type.
These checks read only the size and the first ``HEAD_BYTES`` bytes: no ffmpeg, no decoding.
"""

from __future__ import annotations

from django.conf import settings

from assessments.engines.base import AssessmentError

HEAD_BYTES = 64


class AudioRejected(AssessmentError):
    """A recording we cannot assess, with a reason the learner can act on."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_AUDIO = "not_audio"
    TOO_SHORT = "too_short"
    NO_SPEECH = "no_speech"

    MESSAGES = {
        EMPTY: "Your recording was empty. Check your microphone and try again.",
        TOO_LARGE: "Your recording is too large (the limit is {limit_mb:g} MB). "
        "Record a shorter answer and try again.",
        NOT_AUDIO: "We couldn't read that file as audio. Record again, or upload a WAV, MP3, "
        "FLAC, Ogg, WebM or MP4 audio file.",
        TOO_SHORT: "Your recording is too short. Read the whole text aloud and try again.",
        NO_SPEECH: "We couldn't hear any speech in your recording. "
        "Check your microphone and try again.",
    }

    def __init__(self, code: str, *, operator_message: str = "", **message_args: object) -> None:
        super().__init__(
            code,
            self.MESSAGES[code].format(**message_args),
            operator_message=operator_message,
        )


def audio_sniff_format(*, head: bytes) -> str | None:
    """The container the first bytes of a file announce, or ``None`` when it is not audio."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM / Matroska
        return "webm"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync; layer bits 00 mean an ADTS AAC stream instead of MP3.
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    return None


def audio_check_upload(*, size: int, head: bytes) -> str:
    """Cheap checks before an upload is stored; returns the sniffed format or refuses it."""
    if size <= 0:
        raise AudioRejected(AudioRejected.EMPTY, operator_message="Upload has 0 bytes.")
    limit = int(getattr(settings, "AUDIO_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    if size > limit:
        raise AudioRejected(
            AudioRejected.TOO_LARGE,
            operator_message=f"Upload has {size} bytes; the limit is {limit}.",
            limit_mb=round(limit / (1024 * 1024), 1),
        )
    source_format = audio_sniff_format(head=head)
    if source_format is None:
        raise AudioRejected(
            AudioRejected.NOT_AUDIO,
            operator_message=f"Unrecognised file signature {head[:12].hex()}.",
        )
    return source_format
