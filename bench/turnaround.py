"""Turnaround: from the upload POST to status ``succeeded``, and the app's own overhead.

Starts a real PostgreSQL, Redis and one ``celery -A tutor worker`` (concurrency 1), then
POSTs a 10 s browser-style WebM recording to the real upload view (Django's test client,
the whole middleware stack, logged in) and polls the attempt's status row every 2 ms, as a
page would (only faster). For each attempt the worker logs its own convert / engine / store
times; the engine call is the baseline measured in the same run:

    overhead = turnaround - engine call      (target: median ≤ 150 ms)
    ratio    = turnaround / engine call

Engines: the offline engine, and Azure through the loopback double answering at once
(latency 0), so the Azure "engine call" is one local HTTP round trip plus parsing.

    .venv/bin/python bench/turnaround.py [--runs 10] [--engines local,azure]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.audio_factory import AudioFactory  # noqa: E402
from tests.support.azure_double import AzureDouble  # noqa: E402
from tests.support.services import service_stack  # noqa: E402
from tests.support.worker import Worker, attempt_timings  # noqa: E402

TEXT = (
    "Good morning. Today we read a short passage together, slowly and clearly, so that "
    "every word can be heard and scored."
)


def configure_django(*, database_url: str, broker_url: str, media: Path, var: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tutor.settings", DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url, MEDIA_ROOT=str(media), TUTOR_VAR_DIR=str(var),
        ALLOWED_HOSTS="testserver", UPLOADS_PER_MINUTE="100000", LOG_LEVEL="WARNING",
        ASSESSMENT_ENGINE="local", AZURE_SPEECH_KEY="",
    )
    import django

    django.setup()


def make_learner(name: str, lesson):
    from tutor.models import Assignment, Classroom, Role, User

    learner = User.objects.create_user(name, password="bench-pass-123", role=Role.LEARNER)
    classroom = Classroom.objects.create(name=f"Class {name}")
    classroom.learners.add(learner)
    Assignment.objects.create(classroom=classroom, lesson=lesson)
    return learner


def post_upload(client, lesson, recording: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    response = client.post(
        reverse("attempt-upload", args=[lesson.pk]),
        {"audio": SimpleUploadedFile("blob", recording, content_type="audio/webm"),
         "mime_type": "audio/webm;codecs=opus"},
        headers={"HX-Request": "true"},
    )
    if response.status_code >= 300:
        raise RuntimeError(f"upload answered {response.status_code}: {response.content[:300]!r}")
    return response


def wait_succeeded(learner, *, known: set[int], timeout: float = 120.0):
    from assessments.models import Attempt

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt = Attempt.objects.filter(learner=learner).exclude(pk__in=known).first()
        if attempt is not None and attempt.is_finished:
            if attempt.status != "succeeded":
                raise RuntimeError(f"attempt {attempt.pk} failed: {attempt.failure_code}")
            return attempt
        time.sleep(0.002)
    raise RuntimeError("no attempt finished in time")


def measure(engine: str, *, runs: int, recording: bytes, stack, root: Path, azure) -> dict:
    from django.test import Client

    from tutor.models import Lesson

    postgres, redis = stack
    env = {"ASSESSMENT_ENGINE": "local", "AZURE_SPEECH_KEY": ""}
    if engine == "azure":
        env = {**azure.environ(), "ASSESSMENT_ENGINE": "azure"}
    lesson = Lesson.objects.create(title=f"Bench {engine}", reference_text=TEXT)
    learner = make_learner(f"turnaround-{engine}", lesson)
    client = Client()
    client.force_login(learner)
    worker = Worker(
        broker_url=redis.url, database_url=postgres.url(), media_root=root / "media",
        var_dir=root / f"var-{engine}", extra_env=env, name=f"turnaround-{engine}",
    ).start()
    try:
        known: set[int] = set()
        samples = []
        for index in range(runs + 2):  # the first two warm the worker (model load, pools)
            started = time.perf_counter()
            post_upload(client, lesson, recording)
            posted = time.perf_counter()
            attempt = wait_succeeded(learner, known=known)
            finished = time.perf_counter()
            known.add(attempt.pk)
            if index >= 2:
                samples.append((attempt.pk, finished - started, posted - started,
                                attempt.duration_ms))
        time.sleep(0.2)
        timings = attempt_timings(worker.log())
    finally:
        worker.stop()
    rows = []
    for attempt_id, total, post, duration_ms in samples:
        worker_times = timings[attempt_id]
        engine_s = worker_times["engine"] / 1000
        rows.append({"total": total, "post": post, "engine": engine_s,
                     "overhead": total - engine_s, "convert": worker_times["convert"] / 1000,
                     "store": worker_times["store"] / 1000, "duration_ms": duration_ms})
    return {"engine": engine, "rows": rows}


def report(result: dict) -> bool:
    rows = result["rows"]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows) * 1000

    p90 = sorted(r["overhead"] for r in rows)[max(0, int(len(rows) * 0.9) - 1)] * 1000
    ratio = statistics.median(r["total"] / r["engine"] for r in rows)
    ok = med("overhead") <= 150
    print(f"\n[{result['engine']}] {len(rows)} runs, clip {rows[0]['duration_ms'] / 1000:.1f} s "
          "after trimming")
    print(f"  turnaround  median {med('total'):7.1f} ms")
    print(f"  engine call median {med('engine'):7.1f} ms   (baseline)")
    print(f"  overhead    median {med('overhead'):7.1f} ms   p90 {p90:.1f} ms   "
          f"target ≤ 150 ms: {'met' if ok else 'NOT met'}")
    print(f"    of which: upload POST {med('post'):.1f} ms, convert {med('convert'):.1f} ms, "
          f"store {med('store'):.1f} ms")
    print(f"  turnaround / engine call = {ratio:.2f}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--engines", default="local,azure")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]

    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        root = Path(tmp)
        audio = AudioFactory(root / "audio")
        ten_seconds = audio.looped(audio.speech(TEXT), seconds=10.0)
        recording = audio.transcode(ten_seconds, "webm-stream").read_bytes()
        with service_stack(root) as stack, AzureDouble(latency=0.0) as azure:
            postgres, redis = stack
            configure_django(database_url=postgres.url(), broker_url=redis.url,
                             media=root / "media", var=root / "var")
            print(f"Turnaround on {os.cpu_count()} cores, load average "
                  f"{os.getloadavg()[0]:.1f} at start")
            results = [measure(e, runs=args.runs, recording=recording, stack=stack,
                               root=root, azure=azure) for e in engines]
    for result in results:
        report(result)


if __name__ == "__main__":
    main()
