"""The attempt lifecycle services: create, process, store, fail, re-assess, sweep.

The engine here is an in-process object registered as the configured engine, so each test
can script what "the engine" does; conversion runs for real (ffmpeg) on espeak-ng speech.
Celery publishes to kombu's in-memory transport, where the tests read what was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from assessments import engines, services
from assessments.audio import AudioRejected
from assessments.engines.base import AssessmentError, AssessmentSettings
from assessments.models import Attempt, AttemptStatus, PhonemeResult, WordResult
from assessments.results import (
    AssessmentResult,
    PhonemeAssessment,
    PhonemeCandidate,
    ProsodyFeedback,
    RecognitionStatus,
    WordAssessment,
)
from tests.factories import AttemptFactory

S = AttemptStatus
TASK = "assessments.tasks.assess_attempt"


def scripted_result(settings: AssessmentSettings) -> AssessmentResult:
    """A plausible result for the reference text: one word per token, two phonemes each."""
    words = [
        WordAssessment(
            word=token,
            accuracy=90.0 - index,
            offset_ms=index * 400,
            duration_ms=350,
            prosody=ProsodyFeedback(break_error_types=["UnexpectedBreak"] if index == 1 else []),
            phonemes=[
                PhonemeAssessment(phoneme="g", accuracy=80.0, offset_ms=index * 400,
                                  duration_ms=100, candidates=[PhonemeCandidate("k", 70.0)]),
                PhonemeAssessment(phoneme="uh", accuracy=95.0, offset_ms=index * 400 + 100,
                                  duration_ms=100),
            ],
        )
        for index, token in enumerate(settings.reference_text.strip(" .?!,").split())
    ]
    return AssessmentResult(
        engine="scripted", recognized_text=settings.reference_text, accuracy=88.0,
        fluency=80.0, completeness=100.0, prosody=75.0, words=words,
    )


class ScriptedEngine:
    """Stands in for the configured engine; ``steps`` says what each call does, in order."""

    name = "scripted"

    def __init__(self) -> None:
        self.steps: list[Callable[[AssessmentSettings], AssessmentResult]] = []
        self.calls: list[tuple[int, AssessmentSettings]] = []

    def assess(self, *, wav: bytes, settings: AssessmentSettings) -> AssessmentResult:
        self.calls.append((len(wav), settings))
        step = self.steps.pop(0) if self.steps else scripted_result
        return step(settings)


def raising(error: BaseException) -> Callable[[AssessmentSettings], AssessmentResult]:
    def step(settings: AssessmentSettings) -> AssessmentResult:
        raise error

    return step


@pytest.fixture
def engine(settings):
    settings.ASSESSMENT_ENGINE = "local"
    scripted = ScriptedEngine()
    saved = engines._instances.pop("local", None)
    engines._instances["local"] = scripted
    yield scripted
    engines._instances.pop("local", None)
    if saved is not None:
        engines._instances["local"] = saved


@pytest.fixture
def speech(audio_factory) -> Path:
    return audio_factory.speech("Good morning, how are you today?")


def upload_of(path: Path, content_type: str = "audio/wav") -> SimpleUploadedFile:
    return SimpleUploadedFile("voice.wav", path.read_bytes(), content_type=content_type)


@pytest.fixture
def queued(school, speech, memory_broker, django_capture_on_commit_callbacks) -> Attempt:
    """A freshly uploaded attempt, its enqueue already sent and drained from the broker."""
    with django_capture_on_commit_callbacks(execute=True):
        attempt = services.attempt_create(
            learner=school.learner, lesson=school.lesson, upload=upload_of(speech)
        )
    assert memory_broker.sent() == [(TASK, [attempt.pk])]
    return attempt


# --- create and enqueue ---------------------------------------------------------------------


def test_create_saves_recording_and_snapshot_then_enqueues_on_commit(
    school, speech, memory_broker, django_capture_on_commit_callbacks
):
    school.lesson.enable_prosody = False
    school.lesson.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attempt = services.attempt_create(
            learner=school.learner, lesson=school.lesson, upload=upload_of(speech),
            content_type="audio/wav",
        )
        # Nothing is sent before the row is committed: a worker must always find it.
        assert memory_broker.sent() == []
    for callback in callbacks:
        callback()

    attempt.refresh_from_db()
    assert attempt.status == S.QUEUED
    assert attempt.queued_at is not None
    assert attempt.tries == 0
    assert Path(attempt.original_audio.path).read_bytes() == speech.read_bytes()
    assert attempt.original_audio.name.endswith(f"{attempt.public_id.hex}/original")
    assert attempt.original_size == speech.stat().st_size
    assert attempt.original_content_type == "audio/wav"
    assert attempt.reference_text == "Good morning, how are you today?"
    assert attempt.settings_snapshot["enable_prosody"] is False
    assert memory_broker.sent() == [(TASK, [attempt.pk])]


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", AudioRejected.EMPTY), (b"<html>not audio</html>", AudioRejected.NOT_AUDIO)],
)
def test_create_refuses_bad_uploads_before_storing_anything(
    school, settings, memory_broker, content, code
):
    with pytest.raises(AudioRejected) as refused:
        services.attempt_create(
            learner=school.learner, lesson=school.lesson,
            upload=SimpleUploadedFile("x.wav", content, content_type="audio/wav"),
        )
    assert refused.value.code == code
    assert not Attempt.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()


def test_enqueue_with_broker_down_keeps_attempt_for_the_sweep(queued, memory_broker, unused_port):
    with memory_broker.unreachable(f"redis://127.0.0.1:{unused_port}/0"):
        assert services.attempt_enqueue(attempt_id=queued.pk) is False
    queued.refresh_from_db()
    assert queued.status == S.QUEUED
    assert queued.queued_at is None  # "never sent": the next sweep sends it at once
    report = services.attempts_requeue_stuck()
    assert report.requeued == [queued.pk]
    queued.refresh_from_db()
    assert queued.queued_at is not None
    assert queued.tries == 0  # nothing was tried yet


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- process --------------------------------------------------------------------------------


def test_process_converts_assesses_and_stores_rows(queued, engine):
    outcome = services.attempt_process(attempt_id=queued.pk)

    assert outcome == services.ProcessOutcome(status=S.SUCCEEDED)
    attempt = Attempt.objects.get(pk=queued.pk)
    assert attempt.status == S.SUCCEEDED
    assert attempt.tries == 1
    assert attempt.started_at <= attempt.finished_at
    assert attempt.engine == "scripted"
    assert (attempt.accuracy, attempt.fluency, attempt.completeness) == (88.0, 80.0, 100.0)
    # Azure's weighting of the sorted scores when the engine gave no overall score.
    assert attempt.pronunciation == pytest.approx(0.4 * 75 + 0.2 * 80 + 0.2 * 88 + 0.2 * 100)
    assert attempt.raw_response["recognized_text"] == "Good morning, how are you today?"
    # The engine got 16 kHz WAV bytes and the snapshot taken at upload.
    wav_bytes, used_settings = engine.calls[0]
    assert used_settings == AssessmentSettings.from_dict(queued.settings_snapshot)
    assert Path(attempt.converted_audio.path).stat().st_size == wav_bytes
    assert 1000 < attempt.duration_ms < 4000

    words = list(attempt.words.all())
    assert [w.word for w in words] == ["Good", "morning,", "how", "are", "you", "today"]
    assert [w.order for w in words] == list(range(6))
    assert words[1].unexpected_break and not words[0].unexpected_break
    phonemes = PhonemeResult.objects.filter(word=words[0])
    assert [(p.phoneme, p.heard) for p in phonemes] == [("g", "k"), ("uh", "")]
    assert PhonemeResult.objects.filter(attempt=attempt).count() == 12


def test_rerun_after_success_does_nothing(queued, engine):
    services.attempt_process(attempt_id=queued.pk)
    again = services.attempt_process(attempt_id=queued.pk)
    assert again.status == services.SKIPPED
    assert len(engine.calls) == 1
    assert WordResult.objects.filter(attempt=queued).count() == 6


def test_reassess_replaces_rows_instead_of_adding(queued, engine, memory_broker,
                                                  django_capture_on_commit_callbacks):
    services.attempt_process(attempt_id=queued.pk)
    first_ids = set(WordResult.objects.filter(attempt=queued).values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        services.attempt_reassess(attempt=queued)
    assert memory_broker.sent() == [(TASK, [queued.pk])]
    queued.refresh_from_db()
    assert queued.status == S.QUEUED
    assert (queued.tries, queued.accuracy, queued.finished_at) == (0, None, None)
    assert not WordResult.objects.filter(attempt=queued).exists()

    services.attempt_process(attempt_id=queued.pk)
    rows = WordResult.objects.filter(attempt=queued)
    assert rows.count() == 6
    assert PhonemeResult.objects.filter(attempt=queued).count() == 12
    assert not first_ids & set(rows.values_list("pk", flat=True))


def test_run_taken_over_by_another_drops_its_outcome(queued, engine):
    """A redelivered task takes over; the first run, still alive, must not store too."""
    takeover: list[services.ProcessOutcome] = []

    def second_run_meanwhile(settings: AssessmentSettings) -> AssessmentResult:
        takeover.append(services.attempt_process(attempt_id=queued.pk))
        return scripted_result(settings)

    engine.steps = [second_run_meanwhile]
    first = services.attempt_process(attempt_id=queued.pk)

    assert takeover == [services.ProcessOutcome(status=S.SUCCEEDED)]
    assert first.status == services.SKIPPED
    attempt = Attempt.objects.get(pk=queued.pk)
    assert (attempt.status, attempt.tries) == (S.SUCCEEDED, 2)
    assert WordResult.objects.filter(attempt=attempt).count() == 6


def test_retryable_error_queues_with_backoff_then_fails_after_max_tries(queued, engine, settings):
    settings.ATTEMPT_MAX_TRIES = 3
    busy = AssessmentError("throttled", "The scoring service is busy.", retryable=True)
    engine.steps = [raising(busy)] * 3

    delays = []
    for _ in range(2):
        outcome = services.attempt_process(attempt_id=queued.pk)
        assert outcome.status == S.QUEUED
        delays.append(outcome.retry_in)
        queued.refresh_from_db()
        assert (queued.status, queued.failure_code) == (S.QUEUED, "throttled")
    assert delays == [5.0, 10.0]

    final = services.attempt_process(attempt_id=queued.pk)
    assert final == services.ProcessOutcome(status=S.FAILED)
    queued.refresh_from_db()
    assert (queued.status, queued.tries) == (S.FAILED, 3)
    assert queued.failure_code == "throttled"
    assert queued.failure_message == services.GAVE_UP_MESSAGE  # no promise of another try
    assert queued.finished_at is not None


def test_server_retry_hint_is_used_but_capped_below_the_stuck_timeout(queued, engine, settings):
    settings.ATTEMPT_STUCK_AFTER_SECONDS = 100
    engine.steps = [
        raising(AssessmentError("throttled", "busy", retryable=True, retry_after=3.0)),
        raising(AssessmentError("throttled", "busy", retryable=True, retry_after=3600.0)),
    ]
    assert services.attempt_process(attempt_id=queued.pk).retry_in == 3.0
    assert services.attempt_process(attempt_id=queued.pk).retry_in == 50.0


def test_permanent_engine_error_fails_with_its_learner_message(queued, engine):
    engine.steps = [raising(AssessmentError("invalid_settings", "Tell your teacher."))]
    assert services.attempt_process(attempt_id=queued.pk).status == S.FAILED
    queued.refresh_from_db()
    assert (queued.status, queued.failure_code) == (S.FAILED, "invalid_settings")
    assert queued.failure_message == "Tell your teacher."
    assert queued.engine == "scripted"


def test_recording_without_speech_fails_in_the_worker_with_the_audio_reason(
    school, audio_factory, engine, memory_broker
):
    attempt = services.attempt_create(
        learner=school.learner, lesson=school.lesson,
        upload=upload_of(audio_factory.silence(seconds=2)),
    )
    assert services.attempt_process(attempt_id=attempt.pk).status == S.FAILED
    attempt.refresh_from_db()
    assert attempt.failure_code == AudioRejected.NO_SPEECH
    assert attempt.failure_message == AudioRejected.MESSAGES[AudioRejected.NO_SPEECH]
    assert engine.calls == []  # the engine is never asked about silence


def test_unexpected_crash_fails_with_a_generic_message(queued, engine):
    engine.steps = [raising(ZeroDivisionError("bug"))]
    assert services.attempt_process(attempt_id=queued.pk).status == S.FAILED
    queued.refresh_from_db()
    assert queued.failure_code == "internal_error"
    assert queued.failure_message == services.INTERNAL_ERROR_MESSAGE
    assert "bug" not in queued.failure_message


def test_soft_time_limit_is_a_retryable_timeout(queued, engine):
    engine.steps = [raising(SoftTimeLimitExceeded())]
    outcome = services.attempt_process(attempt_id=queued.pk)
    assert outcome.status == S.QUEUED and outcome.retry_in is not None
    queued.refresh_from_db()
    assert queued.failure_code == "timeout"


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (RecognitionStatus.NO_MATCH, "no_match", False),
        (RecognitionStatus.INITIAL_SILENCE_TIMEOUT, "initial_silence", False),
        (RecognitionStatus.ERROR, "service_error", True),
    ],
)
def test_unrecognised_speech_fails_and_keeps_the_raw_answer(queued, engine, status, code,
                                                            retryable):
    engine.steps = [lambda s: AssessmentResult(engine="scripted", recognition_status=status,
                                               connection_id="c" * 32)]
    outcome = services.attempt_process(attempt_id=queued.pk)
    assert (outcome.retry_in is not None) is retryable
    queued.refresh_from_db()
    assert queued.failure_code == code
    if not retryable:
        assert queued.status == S.FAILED
        assert queued.failure_message == services.RECOGNITION_MESSAGES[status][1]
        assert queued.raw_response["recognition_status"] == status
        assert queued.connection_id == "c" * 32
    assert not queued.words.exists()


def test_attempt_out_of_tries_is_not_started_again(queued, engine, settings):
    """A recording that kills its worker is redelivered each time; it must stop somewhere."""
    settings.ATTEMPT_MAX_TRIES = 2
    Attempt.objects.filter(pk=queued.pk).update(status=S.PROCESSING, tries=2,
                                                started_at=timezone.now())
    assert services.attempt_process(attempt_id=queued.pk).status == services.SKIPPED
    queued.refresh_from_db()
    assert (queued.status, queued.failure_code) == (S.FAILED, "gave_up")
    assert queued.failure_message == services.GAVE_UP_MESSAGE
    assert engine.calls == []


def test_missing_attempt_is_skipped(db, engine):
    assert services.attempt_process(attempt_id=987654).status == services.SKIPPED


# --- transitions and re-assess ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (S.QUEUED, S.PROCESSING, True),
        (S.PROCESSING, S.SUCCEEDED, True),
        (S.PROCESSING, S.PROCESSING, True),
        (S.SUCCEEDED, S.QUEUED, True),
        (S.SUCCEEDED, S.PROCESSING, False),
        (S.SUCCEEDED, S.FAILED, False),
        (S.FAILED, S.SUCCEEDED, False),
        (S.QUEUED, S.SUCCEEDED, False),
    ],
)
def test_transitions(start, to, allowed):
    attempt = Attempt(status=start)
    if allowed:
        services.transition(attempt, to)
        assert attempt.status == to
    else:
        with pytest.raises(services.InvalidTransition):
            services.transition(attempt, to)
        assert attempt.status == start


def test_store_result_refuses_a_finished_attempt(db):
    attempt = AttemptFactory(status=S.FAILED)
    with pytest.raises(services.InvalidTransition):
        services.attempt_store_result(
            attempt_id=attempt.pk, result=AssessmentResult(engine="scripted")
        )
    attempt.refresh_from_db()
    assert attempt.status == S.FAILED


@pytest.mark.parametrize("status", [S.QUEUED, S.PROCESSING])
def test_reassess_refuses_unfinished_attempts(db, memory_broker, status):
    attempt = AttemptFactory(status=status)
    with pytest.raises(services.InvalidTransition):
        services.attempt_reassess(attempt=attempt)
    assert memory_broker.sent() == []


def test_reassess_a_failed_attempt_after_the_fix(queued, engine, memory_broker,
                                                django_capture_on_commit_callbacks):
    engine.steps = [raising(AssessmentError("auth_failed", "Scoring is not set up."))]
    services.attempt_process(attempt_id=queued.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.attempt_reassess(attempt=queued)
    queued.refresh_from_db()
    assert (queued.status, queued.failure_code, queued.failure_message) == (S.QUEUED, "", "")
    assert memory_broker.sent() == [(TASK, [queued.pk])]
    assert services.attempt_process(attempt_id=queued.pk).status == S.SUCCEEDED


# --- sweep ---------------------------------------------------------------------------------------


def _age(attempt: Attempt, **fields) -> None:
    Attempt.objects.filter(pk=attempt.pk).update(**fields)


def test_sweep_requeues_lost_and_abandoned_attempts_and_leaves_live_ones(
    db, settings, memory_broker, django_capture_on_commit_callbacks
):
    settings.ATTEMPT_STUCK_AFTER_SECONDS = 600
    settings.ATTEMPT_TASK_TIME_LIMIT = 150
    settings.ATTEMPT_MAX_TRIES = 3
    now = timezone.now()
    lost = AttemptFactory(status=S.QUEUED, tries=0, queued_at=now - timedelta(minutes=11))
    fresh = AttemptFactory(status=S.QUEUED, tries=0, queued_at=now - timedelta(minutes=2))
    dead = AttemptFactory(status=S.PROCESSING, tries=1, started_at=now - timedelta(minutes=11))
    running = AttemptFactory(status=S.PROCESSING, tries=1, started_at=now - timedelta(minutes=1))
    exhausted = AttemptFactory(status=S.PROCESSING, tries=3,
                               started_at=now - timedelta(minutes=11))
    done = AttemptFactory(status=S.SUCCEEDED, queued_at=now - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        report = services.attempts_requeue_stuck()

    assert report.requeued == sorted([lost.pk, dead.pk])
    assert report.failed == [exhausted.pk]
    assert sorted(memory_broker.sent()) == sorted([(TASK, [lost.pk]), (TASK, [dead.pk])])
    states = {a.pk: (a.status, a.tries) for a in Attempt.objects.all()}
    assert states[lost.pk] == (S.QUEUED, 1)  # the lost message used a try
    assert states[dead.pk] == (S.QUEUED, 1)  # the dead run already counted its try
    assert states[fresh.pk] == (S.QUEUED, 0)
    assert states[running.pk] == (S.PROCESSING, 1)
    assert states[exhausted.pk] == (S.FAILED, 3)
    assert states[done.pk][0] == S.SUCCEEDED
    failed = Attempt.objects.get(pk=exhausted.pk)
    assert (failed.failure_code, failed.failure_message) == ("gave_up", services.GAVE_UP_MESSAGE)


def test_sweep_never_takes_over_a_run_within_the_task_time_limit(db, settings, memory_broker):
    settings.ATTEMPT_STUCK_AFTER_SECONDS = 60
    settings.ATTEMPT_TASK_TIME_LIMIT = 150
    running = AttemptFactory(status=S.PROCESSING, tries=1,
                             started_at=timezone.now() - timedelta(seconds=120))
    assert services.attempts_requeue_stuck().requeued == []
    # An operator who knows no worker is running can say so explicitly.
    assert services.attempts_requeue_stuck(older_than=timedelta(0)).requeued == [running.pk]


def test_a_message_lost_again_and_again_ends_in_a_clear_failure(db, settings, memory_broker):
    settings.ATTEMPT_MAX_TRIES = 3
    attempt = AttemptFactory(status=S.QUEUED, tries=0, queued_at=timezone.now())
    outcomes = []
    for _ in range(3):
        _age(attempt, queued_at=timezone.now() - timedelta(hours=1))
        report = services.attempts_requeue_stuck()
        outcomes.append("requeued" if report.requeued else "failed")
    assert outcomes == ["requeued", "requeued", "failed"]
    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == (S.FAILED, "gave_up")


def test_requeue_stuck_command(db, memory_broker, django_capture_on_commit_callbacks):
    stuck = AttemptFactory(status=S.PROCESSING, tries=1,
                           started_at=timezone.now() - timedelta(seconds=30))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("requeue_stuck", "--older-than", "10", "-v", "2", stdout=out)
    assert "Re-queued 1 attempt(s), failed 0." in out.getvalue()
    assert f"re-queued: {stuck.pk}" in out.getvalue()
    assert memory_broker.sent() == [(TASK, [stuck.pk])]
