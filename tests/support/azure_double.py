"""A loopback double of Azure Speech: the short-audio REST endpoint and ``issueToken``.

It is a real HTTP/1.1 server (``ThreadingHTTPServer`` on 127.0.0.1, a free port, a
background thread), so the engine under test goes through ``requests``, sockets, chunked
framing and ``Expect: 100-continue`` exactly as it would against Azure — nothing is patched.

Every request is checked against the contract (``docs/azure.md``): method and path; query
(``language`` a supported locale, ``format=detailed``, optional ``profanity``/``cid``, nothing
else); exact ``Content-Type``; ``Accept: application/json``; one credential (key, issued
token or ``aad#<resource>#<token>``); a 32-hex ``X-ConnectionId``, new per request; the
``Pronunciation-Assessment`` header as strict standard base64 of UTF-8 JSON with valid keys
and values (prosody, IPA, n-best phonemes only for en-US); a parseable 16 kHz mono 16-bit
PCM WAV body; and for chunked uploads strict chunk framing, ``Expect: 100-continue`` and the
whole WAV header inside the first chunk and in no later one; at most 30 s of audio. Every
rule broken by the client is recorded in :attr:`AzureDouble.violations` (the fixture fails
the test at teardown if any were) *and* answered the way Azure does: a bad or missing
credential with 401/403 instead of ``100 Continue`` (before the upload), other refused
requests with 400 ``{"Message": ...}``; rules Azure does not enforce are answered as it
would (a malformed ``X-ConnectionId`` ignored, a left-out assessment key replaced by Azure's
default — ``Dimension`` Basic, ``GradingSystem`` FivePoint …, no ``format=detailed`` → the
simple format, audio over 30 s assessed anyway); see ``RecordedRequest.tolerated``.

By default every valid request gets a realistic ``format=detailed`` answer built from the
request's own settings: words of the reference text (Unicode-aware), scores, ``ErrorType``,
syllables, phonemes and ``NBestPhonemes`` (Phoneme granularity), ``Feedback.Prosody`` (when
prosody is enabled), FivePoint scaling, Basic vs Comprehensive. Scripted behaviours, queued
with :meth:`AzureDouble.enqueue`, answer the next requests in order::

    azure_double.enqueue(status(429, retry_after=1), slow(0.5), broken_json())

``status(code, retry_after=None, message=None)``, ``slow(seconds, then=None)``,
``broken_json()``, ``truncated_body()``, ``recognition_status(name)``,
``reset_connection(after_bytes=1024)``, ``respond(payload, status=200)`` and
``success(form="flat"|"nested"|"strings", omit=(), insert=(), accuracy=None,
breaks=None, monotone=False)``. The token endpoint has its own queue
(:meth:`AzureDouble.enqueue_token`); :meth:`AzureDouble.expire_tokens` makes every issued
token answer 401 from then on.

Each request is kept as a :class:`RecordedRequest` (headers, query, decoded assessment
JSON, body, chunk sizes, the JSON answered, the client's port …) in
:attr:`AzureDouble.requests`; token requests in :attr:`AzureDouble.token_requests`.

**pytest** — the ``azure_double`` fixture (import it into a ``conftest.py``) starts a
double, points Django settings at it through pytest-django's ``settings`` fixture
(``AZURE_SPEECH_ENDPOINT``, ``AZURE_SPEECH_TOKEN_ENDPOINT``, ``AZURE_SPEECH_KEY``,
``AZURE_SPEECH_AUTH="key"``, short timeouts and backoff), drops any cached Azure engine so
``get_engine("azure")`` builds one against it, yields the :class:`AzureDouble`, and at
teardown stops it and asserts no contract violations. Setting ``AZURE_SPEECH_KEY`` also
makes ``ASSESSMENT_ENGINE="auto"`` resolve to Azure. For a process that does not share
the test's settings (a Celery worker, ``manage.py``), pass :meth:`AzureDouble.environ` as
environment variables.

**By hand** — ``python -m tests.support.azure_double [--port 8765] [--key dev-key]``
prints the environment to export, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import re
import secrets
import socket
import struct
import threading
import time
import uuid
import wave
import zlib
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from assessments.engines.base import (
    DIMENSIONS,
    EN_US_ONLY_LOCALES,
    GRADING_SYSTEMS,
    GRANULARITIES,
    SUPPORTED_LOCALES,
)
from assessments.results import pronunciation_score

STT_PATH = "/speech/recognition/conversation/cognitiveservices/v1"
TOKEN_PATH = "/sts/v1.0/issueToken"  # noqa: S105 - a URL path
CONTENT_TYPE = "audio/wav; codecs=audio/pcm; samplerate=16000"
TICKS_PER_MS = 10_000
TOKEN_LIFETIME_SECONDS = 600

ASSESSMENT_KEYS_REQUIRED = (
    "ReferenceText",
    "GradingSystem",
    "Granularity",
    "Dimension",
    "EnableMiscue",
    "EnableProsodyAssessment",
)
ASSESSMENT_KEYS_OPTIONAL = ("PhonemeAlphabet", "NBestPhonemeCount", "ScenarioId")
# What Azure does when the client leaves a key out; the client must never rely on it.
ASSESSMENT_DEFAULTS = {
    "GradingSystem": "FivePoint (0-5 scores)",
    "Granularity": "Phoneme",
    "Dimension": "Basic (no fluency, completeness or word ErrorType)",
    "EnableMiscue": "False (no omissions or insertions)",
    "EnableProsodyAssessment": "False (no prosody)",
}
MAX_ASSESSED_SECONDS = 30
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
_FLAGS = {"True": True, "False": False, True: True, False: False, "true": True, "false": False}

_ERROR_BODIES = {
    400: {"Message": "Unsupported audio format or missing language."},
    401: {
        "error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint. "
            "Make sure to provide a valid key for an active subscription and use a correct "
            "regional API endpoint for your resource.",
        }
    },
    403: {"error": {"code": "403", "message": "Access denied: key or token missing."}},
    429: {"error": {"code": "429", "message": "Too many requests."}},
    500: {"error": {"code": "500", "message": "Internal server error."}},
    503: {"error": {"code": "503", "message": "Service unavailable."}},
}


# --------------------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class Behaviour:
    """One scripted answer. Build with the functions below, not directly."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)


def status(code: int, *, retry_after: float | str | None = None, message: str | None = None):
    """Answer HTTP ``code`` with an Azure-style JSON error body (and ``Retry-After``)."""
    return Behaviour("status", {"code": code, "retry_after": retry_after, "message": message})


def slow(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Read the request, wait ``seconds``, then answer as ``then`` (default: success)."""
    return Behaviour("slow", {"seconds": seconds, "then": then})


def broken_json() -> Behaviour:
    """200 with a complete HTTP body that is cut-off, invalid JSON."""
    return Behaviour("broken_json")


def truncated_body() -> Behaviour:
    """200 promising more bytes (Content-Length) than it sends, then closes the socket."""
    return Behaviour("truncated_body")


def recognition_status(name: str) -> Behaviour:
    """200 with ``RecognitionStatus`` ``name`` (``NoMatch``, ``Error`` …) and no NBest."""
    return Behaviour("recognition_status", {"name": name})


def reset_connection(after_bytes: int = 1024) -> Behaviour:
    """Read ``after_bytes`` of the upload, then reset the TCP connection (RST)."""
    return Behaviour("reset_connection", {"after_bytes": after_bytes})


def respond(payload: Any, *, status: int = 200) -> Behaviour:
    """Answer ``payload`` as JSON verbatim (e.g. a recorded file from ``tests/data/azure``)."""
    return Behaviour("respond", {"payload": payload, "status": status})


def success(
    *,
    form: str = "flat",
    omit: Sequence[str] = (),
    insert: Sequence[str] = (),
    accuracy: float | None = None,
    breaks: Mapping[str, tuple[float, float]] | None = None,
    monotone: bool = False,
) -> Behaviour:
    """A realistic assessment of the request's reference text.

    ``form``: ``flat`` (REST), ``nested`` (SDK ``PronunciationAssessment``) or ``strings``
    (numbers as strings, old examples). ``omit``/``insert``: words the learner skipped or
    added (reported only with miscue on). ``accuracy``: every word's accuracy (0–100).
    ``breaks``: word → (UnexpectedBreak, MissingBreak) confidences. ``monotone``: flag
    every word's intonation as Monotone.
    """
    return Behaviour(
        "success",
        {
            "form": form,
            "omit": tuple(omit),
            "insert": tuple(insert),
            "accuracy": accuracy,
            "breaks": dict(breaks or {}),
            "monotone": monotone,
        },
    )


# ---------------------------------------------------------------------------- records


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    chunked: bool = False
    chunk_sizes: list[int] = field(default_factory=list)
    assessment: dict[str, Any] | None = None
    audio_seconds: float | None = None
    violations: list[str] = field(default_factory=list)
    # The subset of ``violations`` Azure does not refuse: it answers, but not as intended.
    tolerated: list[str] = field(default_factory=list)
    behaviour: str = "success"
    response_status: int | None = None
    response_json: Any = None
    received_at: float = field(default_factory=time.monotonic)
    # The client's (peer's) TCP port: the same port on consecutive requests means the client
    # kept the connection alive instead of opening a new one.
    client_port: int | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def tolerate(self, problem: str) -> None:
        """A broken rule Azure answers anyway (defaults applied, id discarded …)."""
        self.violations.append(problem)
        self.tolerated.append(problem)

    @property
    def refusals(self) -> list[str]:
        """The violations Azure answers with 400."""
        return [v for v in self.violations if v not in self.tolerated]

    @property
    def connection_id(self) -> str | None:
        return self.header("X-ConnectionId")

    @property
    def reference_text(self) -> str | None:
        return (self.assessment or {}).get("ReferenceText")


# --------------------------------------------------------------------- response builder


def _unit(seed: str) -> float:
    """A stable pseudo-random number in [0, 1) for ``seed`` (same text, same scores)."""
    return (zlib.crc32(seed.encode("utf-8")) & 0xFFFF) / 0x10000


_SAPI = [
    ("tion", ["sh", "ax", "n"]), ("th", ["th"]), ("sh", ["sh"]), ("ch", ["ch"]),
    ("ng", ["ng"]), ("ph", ["f"]), ("ee", ["iy"]), ("oo", ["uw"]), ("ou", ["aw"]),
    ("ai", ["ey"]), ("ay", ["ey"]), ("oa", ["ow"]), ("ea", ["iy"]), ("or", ["ao", "r"]),
    ("a", ["ae"]), ("e", ["eh"]), ("i", ["ih"]), ("o", ["aa"]), ("u", ["ah"]), ("y", ["iy"]),
    ("c", ["k"]), ("q", ["k"]), ("x", ["k", "s"]), ("j", ["jh"]), ("g", ["g"]),
]  # fmt: skip
_IPA = {
    "sh": "ʃ", "ax": "ə", "th": "θ", "ch": "tʃ", "ng": "ŋ", "iy": "i", "uw": "u", "aw": "aʊ",
    "ey": "eɪ", "ow": "oʊ", "ao": "ɔ", "ae": "æ", "eh": "ɛ", "ih": "ɪ", "aa": "ɑ", "ah": "ʌ",
    "jh": "dʒ", "g": "ɡ", "r": "ɹ",
}  # fmt: skip
_VOWELS = {"ax", "iy", "uw", "aw", "ey", "ow", "ao", "ae", "eh", "ih", "aa", "ah"}
_CONFUSIONS = {"th": ["s", "f", "t"], "r": ["l", "w"], "ih": ["iy", "eh"], "ae": ["eh", "ah"]}


def _phonemes(word: str) -> list[tuple[str, str]]:
    """(SAPI phoneme, letters) pairs from a crude spelling rule set: plausible, not exact."""
    found: list[tuple[str, str]] = []
    text = word.lower()
    i = 0
    while i < len(text):
        for letters, sounds in _SAPI:
            if text.startswith(letters, i):
                found.extend((s, letters) for s in sounds)
                i += len(letters)
                break
        else:
            if text[i].isalpha():
                found.append((text[i], text[i]))
            i += 1
    return found


def _syllables(phonemes: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    groups: list[list[tuple[str, str]]] = [[]]
    for phoneme in phonemes:
        has_vowel = any(p in _VOWELS for p, _ in groups[-1])
        if phoneme[0] in _VOWELS and has_vowel:
            # Keep one consonant with the next syllable, like "ba-by".
            carry = [groups[-1].pop()] if groups[-1][-1][0] not in _VOWELS else []
            groups.append(carry)
        groups[-1].append(phoneme)
    return [g for g in groups if g]


def build_success(
    assessment: Mapping[str, Any],
    *,
    language: str,
    audio_seconds: float = 3.0,
    form: str = "flat",
    omit: Sequence[str] = (),
    insert: Sequence[str] = (),
    accuracy: float | None = None,
    breaks: Mapping[str, tuple[float, float]] | None = None,
    monotone: bool = False,
) -> dict[str, Any]:
    """The ``format=detailed`` answer Azure would give for these assessment settings."""
    reference = str(assessment["ReferenceText"])
    five_point = assessment.get("GradingSystem", "FivePoint") == "FivePoint"  # the default
    granularity = assessment.get("Granularity", "Phoneme")
    comprehensive = assessment.get("Dimension") == "Comprehensive"
    miscue = _FLAGS.get(assessment.get("EnableMiscue"), False)
    prosody = _FLAGS.get(assessment.get("EnableProsodyAssessment"), False)
    ipa = assessment.get("PhonemeAlphabet") == "IPA"
    nbest = int(assessment.get("NBestPhonemeCount") or 0)
    named_phonemes = language in ("en-US", "zh-CN")
    breaks = breaks or {}
    omitted = {w.lower() for w in omit}

    def score(value: float) -> float:
        return round(value / 20.0, 1) if five_point else round(value, 1)

    spoken = [w for w in _WORD.findall(reference)]
    words_out: list[dict[str, Any]] = []
    cursor = 5_000_000  # speech starts 0.5 s in
    accuracies: list[float] = []
    said = 0
    sequence = [(w, False) for w in spoken] + [(w, True) for w in insert]
    for index, (word, inserted) in enumerate(sequence):
        if not inserted and word.lower() in omitted:
            if miscue:
                words_out.append(
                    {"Word": word.lower(), "AccuracyScore": 0.0, "ErrorType": "Omission"}
                )
            continue
        said += 0 if inserted else 1
        word_accuracy = accuracy if accuracy is not None else 55 + 45 * _unit(word.lower())
        duration = (250 + 60 * len(word)) * TICKS_PER_MS
        item: dict[str, Any] = {
            "Word": word.lower(),
            "Offset": cursor,
            "Duration": duration,
            "Confidence": 0.0,
        }
        if not inserted:
            accuracies.append(word_accuracy)
        if granularity != "FullText":
            item["AccuracyScore"] = score(word_accuracy)
            if comprehensive:
                error = "None"
                if inserted and miscue:
                    error = "Insertion"
                elif word_accuracy < 60:
                    error = "Mispronunciation"
                item["ErrorType"] = error
        if granularity == "Phoneme":
            sounds = _phonemes(word) or [(word.lower(), word)]
            step = duration // len(sounds)
            phonemes_out = []
            for n, (sapi, _letters) in enumerate(sounds):
                symbol = _IPA.get(sapi, sapi) if ipa else sapi
                phoneme_accuracy = max(
                    0.0, min(100.0, word_accuracy + 20 * (_unit(word + sapi) - 0.5))
                )
                phoneme: dict[str, Any] = {
                    "Phoneme": symbol if named_phonemes else "",
                    "AccuracyScore": score(phoneme_accuracy),
                    "Offset": cursor + n * step,
                    "Duration": step,
                }
                if nbest:
                    heard = _CONFUSIONS.get(sapi, ["ax", "t", "d", "n"])
                    options = [(sapi, phoneme_accuracy)] + [
                        (alt, max(0.0, phoneme_accuracy - 30 - 10 * k))
                        for k, alt in enumerate(heard)
                    ]
                    if phoneme_accuracy < 60 and len(options) > 1:
                        options[0], options[1] = (options[1][0], 90.0), options[0]
                    phoneme["NBestPhonemes"] = [
                        {"Phoneme": _IPA.get(p, p) if ipa else p, "Score": round(s, 1)}
                        for p, s in sorted(options, key=lambda o: -o[1])[:nbest]
                    ]
                phonemes_out.append(phoneme)
            item["Phonemes"] = phonemes_out
            if language == "en-US":
                syllables_out, start, taken = [], cursor, 0
                for group in _syllables(sounds):
                    length = step * len(group)
                    text = "".join(_IPA.get(p, p) if ipa else p for p, _ in group)
                    grapheme = word[taken : taken + len("".join(lt for _, lt in group))]
                    taken += len(grapheme)
                    syllables_out.append(
                        {
                            "Syllable": text,
                            "Grapheme": grapheme or word,
                            "AccuracyScore": score(
                                sum(phoneme_accuracy for _ in group) / len(group)
                            ),
                            "Offset": start,
                            "Duration": length,
                        }
                    )
                    start += length
                item["Syllables"] = syllables_out
        if prosody and granularity != "FullText":
            unexpected, missing = breaks.get(
                word.lower(), (round(0.3 * _unit("u" + word), 6), round(0.3 * _unit("m" + word), 6))
            )
            brk: dict[str, Any] = {"ErrorTypes": ["None"], "BreakLength": 0}
            if index > 0:  # Azure gives no break confidences for the first word
                brk["UnexpectedBreak"] = {"Confidence": unexpected}
                brk["MissingBreak"] = {"Confidence": missing}
                brk["BreakLength"] = int(unexpected * 5_000_000)
            item["Feedback"] = {
                "Prosody": {
                    "Break": brk,
                    "Intonation": {
                        "ErrorTypes": ["Monotone"] if monotone else [],
                        "Monotone": {
                            "Confidence": 0.9 if monotone else 0.0,
                            "WordPitchSlopeConfidence": 0.0,
                            "SyllablePitchDeltaConfidence": round(_unit(reference), 6),
                        },
                    },
                }
            }
        words_out.append(item)
        cursor += duration + 500_000
    overall = sum(accuracies) / len(accuracies) if accuracies else 0.0
    lexical = " ".join(w["Word"] for w in words_out if w.get("ErrorType") != "Omission")
    best: dict[str, Any] = {
        "Confidence": round(0.8 + 0.2 * _unit(reference), 6),
        "Lexical": lexical,
        "ITN": lexical,
        "MaskedITN": lexical,
        "Display": reference,
        "AccuracyScore": score(overall),
    }
    if comprehensive:
        fluency = 60 + 40 * _unit("fluency" + reference)
        completeness = 100.0 * said / len(spoken) if spoken else 0.0
        best["FluencyScore"] = score(fluency)
        best["CompletenessScore"] = score(completeness)
        prosody_score = None
        if prosody:
            prosody_score = 60 + 40 * _unit("prosody" + reference)
            best["ProsodyScore"] = score(prosody_score)
        pron = pronunciation_score(
            accuracy=overall, fluency=fluency, completeness=completeness, prosody=prosody_score
        )
        best["PronScore"] = score(pron or 0.0)
    else:
        best["PronScore"] = score(overall)
    best["Words"] = words_out
    payload = {
        "RecognitionStatus": "Success",
        "Offset": 5_000_000,
        "Duration": max(cursor - 5_000_000, 0),
        "DisplayText": reference,
        "SNR": round(30 + 10 * _unit(reference), 5),
        "NBest": [best],
    }
    if form == "nested":
        return _nest(payload)
    if form == "strings":
        return _stringify(payload)
    return payload


def _nest(payload: dict[str, Any]) -> dict[str, Any]:
    """The SDK's shape: per-item scores under ``PronunciationAssessment``."""
    nested_keys = {
        "AccuracyScore", "FluencyScore", "CompletenessScore", "ProsodyScore", "PronScore",
        "ErrorType", "Feedback", "NBestPhonemes",
    }  # fmt: skip

    def move(item: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in item.items() if k not in nested_keys}
        inner = {k: v for k, v in item.items() if k in nested_keys}
        for key in ("Words", "Syllables", "Phonemes"):
            if key in out:
                out[key] = [move(x) for x in out[key]]
        if inner:
            out["PronunciationAssessment"] = inner
        return out

    result = dict(payload)
    result["NBest"] = [move(item) for item in payload["NBest"]]
    return result


def _stringify(value: Any, key: str = "") -> Any:
    """Old examples: ``Offset``/``Duration``/``Confidence`` and scores as strings."""
    if isinstance(value, dict):
        return {k: _stringify(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v, key) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


# ----------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for handlers sleeping in ``slow`` when the double stops.
    block_on_close = False
    allow_reuse_address = True
    double: AzureDouble

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or reset are part of the scenarios; stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, the body would wait for
    # the client's delayed ACK (~40 ms per request on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:
        self.server.double._handle(self)

    def handle_expect_100(self) -> bool:
        # Azure acknowledges only a request it will take: a bad or missing credential is
        # answered at once, instead of the 100, before the audio is uploaded.
        return self.server.double._expect_continue(self)

    def do_GET(self) -> None:
        self._send_json(405, {"Message": "Only POST is supported."})

    do_PUT = do_DELETE = do_GET

    def _send_json(self, code: int, payload: Any, headers: Mapping[str, str] | None = None):
        self._send(code, json.dumps(payload).encode("utf-8"), headers=headers)

    def _send(
        self,
        code: int,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
        length: int | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class AzureDouble:
    """The double. ``with AzureDouble() as double: ...`` or :meth:`start`/:meth:`stop`."""

    def __init__(
        self,
        *,
        key: str | None = None,
        port: int = 0,
        entra_resource_id: str = "/subscriptions/0000/resourceGroups/rg/providers/"
        "Microsoft.CognitiveServices/accounts/loopback-speech",
        entra_token: str | None = None,
        latency: float = 0.0,
    ) -> None:
        self.key = key or f"loopback-{secrets.token_hex(16)}"
        self.entra_resource_id = entra_resource_id
        self.entra_token = entra_token or f"entra-{secrets.token_hex(16)}"
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self.token_requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._port = port
        self._queue: deque[Behaviour] = deque()
        self._token_queue: deque[Behaviour] = deque()
        self._tokens: dict[str, float] = {}
        self._seen_ids: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> AzureDouble:
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.double = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="azure-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> AzureDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the double first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}{STT_PATH}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}{TOKEN_PATH}"

    def environ(self) -> dict[str, str]:
        """Environment variables that point a separate process (worker, manage.py) here."""
        return {
            "AZURE_SPEECH_ENDPOINT": self.endpoint,
            "AZURE_SPEECH_TOKEN_ENDPOINT": self.token_endpoint,
            "AZURE_SPEECH_KEY": self.key,
            "AZURE_SPEECH_REGION": "",
            "AZURE_SPEECH_AUTH": "key",
        }

    # -- scripting -----------------------------------------------------------------------

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Answer the next STT requests with these, in order; then back to ``success()``."""
        with self._lock:
            self._queue.extend(behaviours)

    def enqueue_token(self, *behaviours: Behaviour) -> None:
        """Script the next ``issueToken`` answers (``status(...)``, ``slow(...)``)."""
        with self._lock:
            self._token_queue.extend(behaviours)

    def expire_tokens(self) -> None:
        """Every token issued so far is rejected (401) from now on."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.token_requests.clear()
            self.violations.clear()
            self._queue.clear()
            self._token_queue.clear()

    @property
    def last_request(self) -> RecordedRequest:
        assert self.requests, "the double has received no recognition request"
        return self.requests[-1]

    @property
    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def assert_no_violations(self) -> None:
        assert not self.violations, "Azure contract violations:\n- " + "\n- ".join(self.violations)

    # -- handling ------------------------------------------------------------------------

    def _next(self, queue: deque[Behaviour]) -> Behaviour:
        with self._lock:
            return queue.popleft() if queue else Behaviour("success")

    def _record(self, record: RecordedRequest, target: list[RecordedRequest]) -> None:
        with self._lock:
            target.append(record)
            self.violations.extend(f"{record.method} {record.path}: {v}" for v in record.violations)

    def _expect_continue(self, handler: _Handler) -> bool:
        url = urlsplit(handler.path)
        if handler.command == "POST" and url.path == STT_PATH:
            record = RecordedRequest(
                method=handler.command,
                path=url.path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers=dict(handler.headers.items()),
                behaviour="refused_before_continue",
                client_port=handler.client_address[1],
            )
            auth_status = self._check_auth(record)
            if auth_status is not None:
                record.response_status = auth_status
                record.response_json = _ERROR_BODIES[auth_status]
                self._record(record, self.requests)
                handler.close_connection = True
                handler._send_json(
                    auth_status, _ERROR_BODIES[auth_status], headers={"Connection": "close"}
                )
                self._linger(handler)
                return False
        handler.send_response_only(100)
        handler.end_headers()
        return True

    @staticmethod
    def _linger(handler: _Handler) -> None:
        """Close like a real front end: stop sending, drain the upload, then close — closing
        with unread data would reset the connection and destroy the answer just sent."""
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_WR)
            handler.connection.settimeout(2.0)
            while handler.connection.recv(65536):
                pass

    def _handle(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        record = RecordedRequest(
            method=handler.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers=dict(handler.headers.items()),
            client_port=handler.client_address[1],
        )
        if url.path == TOKEN_PATH:
            self._handle_token(handler, record)
        elif url.path == STT_PATH:
            self._handle_recognition(handler, record)
        else:
            self._read_body(handler, record)
            record.violations.append(f"unknown path {url.path!r}")
            self._record(record, self.requests)
            handler._send_json(404, {"error": {"code": "404", "message": "Resource not found"}})

    def _handle_token(self, handler: _Handler, record: RecordedRequest) -> None:
        behaviour = self._next(self._token_queue)
        record.behaviour = behaviour.kind
        self._read_body(handler, record)
        if record.body:
            record.violations.append("issueToken body must be empty")
        if record.header("Content-Type") != "application/x-www-form-urlencoded":
            record.violations.append(
                "issueToken needs Content-Type: application/x-www-form-urlencoded"
            )
        if record.header("Content-Length") != "0":
            record.violations.append("issueToken needs Content-Length: 0")
        self._record(record, self.token_requests)
        if behaviour.kind == "slow":
            self._stopping.wait(behaviour.options["seconds"])
            behaviour = behaviour.options["then"] or Behaviour("success")
        if behaviour.kind == "status":
            self._answer_status(handler, record, behaviour)
            return
        if record.header("Ocp-Apim-Subscription-Key") != self.key:
            record.response_status = 401
            handler._send_json(401, _ERROR_BODIES[401])
            return
        token = self._issue_token()
        record.response_status = 200
        handler._send(200, token.encode("ascii"), content_type="text/plain; charset=utf-8")

    def _issue_token(self) -> str:
        def part(data: Mapping[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        expires = time.time() + TOKEN_LIFETIME_SECONDS
        token = ".".join(
            [
                part({"alg": "HS256", "typ": "JWT"}),
                part({"region": "loopback", "jti": uuid.uuid4().hex, "exp": int(expires)}),
                base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode(),
            ]
        )
        with self._lock:
            self._tokens[token] = expires
        return token

    def _handle_recognition(self, handler: _Handler, record: RecordedRequest) -> None:
        behaviour = self._next(self._queue)
        record.behaviour = behaviour.kind
        if behaviour.kind == "reset_connection":
            self._reset(handler, record, behaviour.options["after_bytes"])
            return
        self._read_body(handler, record)
        auth_status = self._check_auth(record)
        self._check_request(record)
        self._record(record, self.requests)
        if behaviour.kind == "slow":
            self._stopping.wait(behaviour.options["seconds"])
            behaviour = behaviour.options["then"] or Behaviour("success")
            record.behaviour = f"slow+{behaviour.kind}"
        elif self.latency:
            self._stopping.wait(self.latency)
        if auth_status is not None:
            record.response_status = auth_status
            handler._send_json(auth_status, _ERROR_BODIES[auth_status])
            return
        if record.refusals:
            record.response_status = 400
            handler._send_json(400, {"Message": "; ".join(record.refusals)})
            return
        self._answer(handler, record, behaviour)

    def _answer(self, handler: _Handler, record: RecordedRequest, behaviour: Behaviour) -> None:
        kind = behaviour.kind
        if kind == "status":
            self._answer_status(handler, record, behaviour)
        elif kind == "recognition_status":
            payload = {
                "RecognitionStatus": behaviour.options["name"],
                "Offset": 0,
                "Duration": int((record.audio_seconds or 0) * 1000 * TICKS_PER_MS),
            }
            record.response_status, record.response_json = 200, payload
            handler._send_json(200, payload)
        elif kind == "respond":
            payload = behaviour.options["payload"]
            record.response_status, record.response_json = behaviour.options["status"], payload
            handler._send_json(behaviour.options["status"], payload)
        elif kind == "broken_json":
            text = json.dumps(self._success(record, {}))
            record.response_status = 200
            handler._send(200, text[: len(text) // 2].encode("utf-8"))
        elif kind == "truncated_body":
            body = json.dumps(self._success(record, {})).encode("utf-8")
            record.response_status = 200
            handler._send(200, body[: len(body) // 2], length=len(body))
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
        else:
            payload = self._success(record, behaviour.options)
            record.response_status, record.response_json = 200, payload
            handler._send_json(200, payload)

    def _success(self, record: RecordedRequest, options: Mapping[str, Any]) -> dict[str, Any]:
        payload = build_success(
            record.assessment or {"ReferenceText": ""},
            language=(record.query.get("language") or ["en-US"])[0],
            audio_seconds=record.audio_seconds or 0.0,
            **options,
        )
        if (record.query.get("format") or ["simple"])[0] != "detailed":
            # format=simple (the default): no NBest, so no assessment at all.
            return {
                k: payload[k] for k in ("RecognitionStatus", "DisplayText", "Offset", "Duration")
            }
        return payload

    def _answer_status(
        self, handler: _Handler, record: RecordedRequest, behaviour: Behaviour
    ) -> None:
        code = behaviour.options["code"]
        body = _ERROR_BODIES.get(code, {"error": {"code": str(code), "message": "Error"}})
        if behaviour.options["message"]:
            body = {"Message": behaviour.options["message"]}
        headers = {}
        if behaviour.options["retry_after"] is not None:
            headers["Retry-After"] = str(behaviour.options["retry_after"])
        record.response_status, record.response_json = code, body
        handler._send_json(code, body, headers=headers)

    def _reset(self, handler: _Handler, record: RecordedRequest, after_bytes: int) -> None:
        with contextlib.suppress(OSError):
            handler.rfile.read(after_bytes)
        self._record(record, self.requests)
        # Linger 0: close() sends RST instead of FIN, like a dropped connection.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True

    # -- validation ----------------------------------------------------------------------

    def _read_body(self, handler: _Handler, record: RecordedRequest) -> None:
        encoding = (record.header("Transfer-Encoding") or "").lower()
        try:
            if encoding == "chunked":
                record.chunked = True
                if record.header("Content-Length") is not None:
                    record.violations.append("both Transfer-Encoding and Content-Length sent")
                record.body = self._read_chunks(handler, record)
            elif encoding:
                record.violations.append(f"unsupported Transfer-Encoding {encoding!r}")
            else:
                length = record.header("Content-Length")
                if length is None:
                    record.violations.append("neither Content-Length nor chunked encoding")
                    return
                record.body = handler.rfile.read(int(length))
                if len(record.body) != int(length):
                    record.violations.append("body shorter than Content-Length")
        except (OSError, ValueError) as exc:
            record.violations.append(f"unreadable body: {exc}")
            handler.close_connection = True

    def _read_chunks(self, handler: _Handler, record: RecordedRequest) -> bytes:
        parts = []
        while True:
            line = handler.rfile.readline(1024)
            if not line.endswith(b"\r\n"):
                record.violations.append(f"chunk-size line not CRLF-terminated: {line[:20]!r}")
                handler.close_connection = True
                break
            size_text = line[:-2].split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
                record.violations.append(f"bad chunk size {size_text[:20]!r}")
                handler.close_connection = True
                break
            size = int(size_text, 16)
            if size == 0:
                while handler.rfile.readline(1024) not in (b"\r\n", b""):
                    pass  # trailers
                break
            data = handler.rfile.read(size)
            if len(data) != size or handler.rfile.read(2) != b"\r\n":
                record.violations.append("chunk data not followed by CRLF / truncated")
                handler.close_connection = True
                break
            parts.append(data)
            record.chunk_sizes.append(size)
        return b"".join(parts)

    def _check_auth(self, record: RecordedRequest) -> int | None:
        key = record.header("Ocp-Apim-Subscription-Key")
        authorization = record.header("Authorization")
        if key is not None and authorization is not None:
            record.violations.append("both a key and an Authorization header")
        if key is None and authorization is None:
            record.violations.append("no Ocp-Apim-Subscription-Key or Authorization header")
            return 403
        if key is not None:
            return None if key == self.key else 401
        assert authorization is not None
        if not authorization.startswith("Bearer "):
            record.violations.append("Authorization must be 'Bearer <token>'")
            return 401
        token = authorization[len("Bearer ") :]
        if token.startswith("aad#"):
            expected = f"aad#{self.entra_resource_id}#{self.entra_token}"
            return None if token == expected else 401
        with self._lock:
            expires = self._tokens.get(token)
        return None if expires is not None and expires > time.time() else 401

    def _check_request(self, record: RecordedRequest) -> None:
        problems = record.violations
        if record.method != "POST":
            problems.append("method must be POST")
        query = record.query
        unknown = set(query) - {"language", "format", "profanity", "cid"}
        if unknown:
            problems.append(f"unknown query parameters {sorted(unknown)}")
        for name, values in query.items():
            if len(values) != 1:
                problems.append(f"query parameter {name!r} repeated")
        language = (query.get("language") or [""])[0]
        if language not in SUPPORTED_LOCALES:
            problems.append(f"language {language!r} missing or unsupported")
        if (query.get("format") or [""])[0] != "detailed":
            # Azure answers the simple format: no NBest, so no scores.
            record.tolerate("format=detailed is required for assessment")
        if "profanity" in query and query["profanity"][0] not in ("masked", "removed", "raw"):
            problems.append("profanity must be masked, removed or raw")
        if "cid" in query and not query["cid"][0]:
            problems.append("empty cid")
        if record.header("Content-Type") != CONTENT_TYPE:
            problems.append(f"Content-Type must be exactly {CONTENT_TYPE!r}")
        accept = record.header("Accept") or ""
        if accept.split(";")[0].split(",")[0].strip() != "application/json":
            problems.append("Accept must be application/json")
        connection_id = record.header("X-ConnectionId") or ""
        if not _HEX32.match(connection_id):
            # Azure discards any other form; the request is served without it.
            record.tolerate("X-ConnectionId must be 32 hex digits without dashes")
        else:
            with self._lock:
                if connection_id in self._seen_ids:
                    record.tolerate("X-ConnectionId reused: it must be new for every request")
                self._seen_ids.add(connection_id)
        if record.chunked and (record.header("Expect") or "").lower() != "100-continue":
            problems.append("chunked upload without Expect: 100-continue")
        record.assessment = self._check_assessment(record, language)
        self._check_wav(record)

    def _check_assessment(self, record: RecordedRequest, language: str) -> dict[str, Any] | None:
        problems = record.violations
        value = record.header("Pronunciation-Assessment")
        if not value:
            problems.append("Pronunciation-Assessment header missing")
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            problems.append("Pronunciation-Assessment is not standard base64")
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problems.append("Pronunciation-Assessment is not UTF-8")
            return None
        except ValueError:
            problems.append("Pronunciation-Assessment is not valid JSON")
            return None
        if not isinstance(data, dict):
            problems.append("Pronunciation-Assessment JSON is not an object")
            return None
        unknown = set(data) - set(ASSESSMENT_KEYS_REQUIRED) - set(ASSESSMENT_KEYS_OPTIONAL)
        if "ReferenceText" not in data:
            problems.append("Pronunciation-Assessment lacks ['ReferenceText']")
        for name, default in ASSESSMENT_DEFAULTS.items():
            if name not in data:
                # Azure applies its default; the client must say what the lesson wants.
                record.tolerate(f"Pronunciation-Assessment lacks {name!r}: Azure uses {default}")
        if unknown:
            problems.append(f"Pronunciation-Assessment has unknown keys {sorted(unknown)}")
        text = data.get("ReferenceText")
        if not isinstance(text, str) or not text.strip():
            problems.append("ReferenceText must be a non-empty string")
        choices = {
            "GradingSystem": GRADING_SYSTEMS,
            "Granularity": GRANULARITIES,
            "Dimension": DIMENSIONS,
        }
        for name, allowed in choices.items():
            if name in data and data[name] not in allowed:
                problems.append(f"{name} {data[name]!r} not one of {allowed}")
        for name in ("EnableMiscue", "EnableProsodyAssessment"):
            if name in data and data[name] not in _FLAGS:
                problems.append(f"{name} must be True or False")
        if "PhonemeAlphabet" in data and data["PhonemeAlphabet"] not in ("SAPI", "IPA"):
            problems.append("PhonemeAlphabet must be SAPI or IPA")
        if "NBestPhonemeCount" in data:
            count = data["NBestPhonemeCount"]
            if isinstance(count, bool) or not str(count).isdigit():
                problems.append("NBestPhonemeCount must be a non-negative integer")
        if "ScenarioId" in data and not _GUID.match(str(data["ScenarioId"])):
            problems.append("ScenarioId must be a GUID")
        en_us_only = (
            _FLAGS.get(data.get("EnableProsodyAssessment")) is True,
            data.get("PhonemeAlphabet") == "IPA",
            str(data.get("NBestPhonemeCount", "0")) not in ("0", ""),
        )
        if any(en_us_only) and language not in EN_US_ONLY_LOCALES:
            problems.append("prosody, IPA and n-best phonemes are en-US only")
        return data

    def _check_wav(self, record: RecordedRequest) -> None:
        problems = record.violations
        body = record.body
        try:
            with wave.open(io.BytesIO(body), "rb") as reader:
                channels, width, rate = (
                    reader.getnchannels(),
                    reader.getsampwidth(),
                    reader.getframerate(),
                )
                frames = reader.getnframes()
        except (wave.Error, EOFError) as exc:
            problems.append(f"body is not a PCM WAV: {exc}")
            return
        if (channels, width, rate) != (1, 2, 16000):
            problems.append(f"WAV must be 16 kHz mono 16-bit; got {rate} Hz x{channels} {width}B")
        if int.from_bytes(body[4:8], "little") != len(body) - 8:
            problems.append("RIFF size does not match the body length")
        samples_at = _samples_offset(body)
        if len(body) - samples_at < frames * width * channels:
            problems.append("WAV data shorter than its header says")
        if frames == 0:
            problems.append("WAV holds no samples")
        if record.chunked and record.chunk_sizes:
            if record.chunk_sizes[0] < samples_at:
                problems.append("the first chunk must carry the whole WAV header")
            start = record.chunk_sizes[0]
            for size in record.chunk_sizes[1:]:
                if body[start : start + 4] == b"RIFF" and body[start + 8 : start + 12] == b"WAVE":
                    problems.append("a WAV header in a later chunk: only the first carries it")
                    break
                start += size
        record.audio_seconds = frames / rate if rate else None
        if record.audio_seconds and record.audio_seconds > 60:
            problems.append("more than 60 s of audio")
        elif record.audio_seconds and record.audio_seconds > MAX_ASSESSED_SECONDS:
            # Azure answers, but only the first 30 s are assessed.
            record.tolerate("more than 30 s of audio: pronunciation assessment stops at 30 s")


def _samples_offset(body: bytes) -> int:
    """Where the samples start: walk the RIFF chunks to ``data``."""
    position = 12
    while position + 8 <= len(body):
        size = int.from_bytes(body[position + 4 : position + 8], "little")
        if body[position : position + 4] == b"data":
            return position + 8
        position += 8 + size + (size & 1)
    return len(body)


# ---------------------------------------------------------------------------- fixture


def _forget_cached_engine() -> None:
    """``get_engine`` keeps one engine per process; drop Azure's so it re-reads settings."""
    from assessments import engines

    with engines._lock:
        engines._instances.pop("azure", None)


@pytest.fixture
def azure_double(settings) -> Iterator[AzureDouble]:
    """A running :class:`AzureDouble`, with Django settings pointing the Azure engine at it.

    Key auth, 2 s connect / 5 s read timeouts, 10 ms backoff base, a 5 s retry budget.
    Override any ``AZURE_*`` setting in the test with ``settings`` (then build the engine).
    Fails at teardown if the client broke a contract rule (see the module docstring).
    """
    double = AzureDouble().start()
    settings.AZURE_SPEECH_ENDPOINT = double.endpoint
    settings.AZURE_SPEECH_TOKEN_ENDPOINT = double.token_endpoint
    settings.AZURE_SPEECH_KEY = double.key
    settings.AZURE_SPEECH_REGION = ""
    settings.AZURE_SPEECH_AUTH = "key"
    settings.AZURE_SPEECH_STREAM = True
    settings.AZURE_SPEECH_CONNECT_TIMEOUT = 2.0
    settings.AZURE_SPEECH_READ_TIMEOUT = 5.0
    settings.AZURE_SPEECH_RETRY_BUDGET_SECONDS = 5.0
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 4
    settings.AZURE_SPEECH_BACKOFF_BASE_SECONDS = 0.01
    _forget_cached_engine()
    try:
        yield double
    finally:
        _forget_cached_engine()
        double.stop()
    double.assert_no_violations()


# ------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.azure_double",
        description="Serve the Azure Speech loopback double until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", default="dev-loopback-key")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    args = parser.parse_args(argv)
    double = AzureDouble(key=args.key, port=args.port, latency=args.latency).start()
    print("Azure Speech double listening. In another shell:\n")
    for name, value in double.environ().items():
        print(f"export {name}={value}")
    print("export ASSESSMENT_ENGINE=azure\n\nCtrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(1)
            with double._lock:
                found, double.violations[:] = list(double.violations), []
            for violation in found:
                print(f"CONTRACT VIOLATION: {violation}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()


if __name__ == "__main__":
    main()
