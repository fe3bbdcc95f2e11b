"""Throughput: N attempts uploaded at once, real Redis, real worker processes.

Starts a real PostgreSQL, Redis and one ``celery -A tutor worker`` with one pool process
per core, then POSTs N recordings (default 200) to the real upload view from 16 threads at
once and waits until every attempt has finished. Checks that all succeeded, that none was
lost (N attempts, N finished) and none duplicated (each has exactly one set of word rows
and used one try). Reports attempts per minute against the engine-bound limit measured in
the same run:

    limit = cores ÷ engine time per attempt     (the engine alone, same clip, in-process)
    ratio = achieved ÷ limit                    (target ≥ 80 %)

The offline engine is the default (it is CPU-bound, so the limit is real); ``--engine azure``
uses the loopback double with ``--latency`` seconds per answer, where the limit is
pool processes ÷ latency.

    .venv/bin/python bench/throughput.py [--attempts 200] [--engine local|azure]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from turnaround import configure_django, make_learner, post_upload  # noqa: E402

from tests.support.audio_factory import AudioFactory  # noqa: E402
from tests.support.azure_double import AzureDouble  # noqa: E402
from tests.support.services import service_stack  # noqa: E402
from tests.support.worker import Worker  # noqa: E402

TEXT = "Good morning, how are you today?"


def engine_seconds(engine_name: str, recording: Path, *, latency: float, runs: int = 5) -> float:
    """The engine alone on the converted clip: the baseline for the limit."""
    if engine_name == "azure":
        return latency
    from assessments.audio import audio_convert
    from assessments.engines import get_engine
    from tutor.models import Lesson

    wav = audio_convert(source=recording).wav
    settings = Lesson(reference_text=TEXT).assessment_settings()
    engine = get_engine("local")
    engine.assess(wav=wav, settings=settings)  # load the model once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        engine.assess(wav=wav, settings=settings)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--engine", choices=("local", "azure"), default="local")
    parser.add_argument("--latency", type=float, default=0.5, help="Azure double latency (s)")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        root = Path(tmp)
        audio = AudioFactory(root / "audio")
        clip = audio.transcode(audio.speech(TEXT), "webm-stream")
        recording = clip.read_bytes()
        with service_stack(root) as (postgres, redis), AzureDouble(latency=args.latency) as az:
            configure_django(database_url=postgres.url(), broker_url=redis.url,
                             media=root / "media", var=root / "var")
            from django.db import connections
            from django.test import Client

            from assessments.models import Attempt, WordResult
            from tutor.models import Lesson

            baseline = engine_seconds(args.engine, clip, latency=args.latency)
            env = {"ASSESSMENT_ENGINE": "local", "AZURE_SPEECH_KEY": ""}
            if args.engine == "azure":
                env = {**az.environ(), "ASSESSMENT_ENGINE": "azure"}
            lesson = Lesson.objects.create(title="Throughput", reference_text=TEXT)
            learners = [make_learner(f"load{i}", lesson) for i in range(args.threads)]
            worker = Worker(
                broker_url=redis.url, database_url=postgres.url(), media_root=root / "media",
                var_dir=root / "var-worker", extra_env=env, concurrency=cores,
                name="throughput",
            ).start()
            local = threading.local()

            def upload(index: int) -> None:
                if not hasattr(local, "client"):
                    local.client = Client()
                    local.client.force_login(learners[index % args.threads])
                post_upload(local.client, lesson, recording)
                connections.close_all()

            try:
                started = time.perf_counter()
                with ThreadPoolExecutor(args.threads) as pool:
                    list(pool.map(upload, range(args.attempts)))
                uploaded = time.perf_counter()
                deadline = time.monotonic() + 60 + args.attempts * baseline * 3
                while time.monotonic() < deadline:
                    unfinished = Attempt.objects.exclude(status__in=["succeeded", "failed"])
                    if not unfinished.exists():
                        break
                    time.sleep(0.05)
                finished = time.perf_counter()
            finally:
                worker.stop()

            attempts = Attempt.objects.all()
            statuses = {s: attempts.filter(status=s).count()
                        for s in ("queued", "processing", "succeeded", "failed")}
            word_counts = {
                pk: WordResult.objects.filter(attempt_id=pk).count()
                for pk in attempts.values_list("pk", flat=True)
            }
            tries = set(attempts.values_list("tries", flat=True))
            last_finish = max(attempts.values_list("finished_at", flat=True))
            first_create = min(attempts.values_list("created_at", flat=True))

    elapsed = finished - started
    per_minute = args.attempts / elapsed * 60
    workers = cores
    limit = workers / baseline * 60  # every pool process busy with nothing but the engine
    print(f"Throughput: {args.attempts} attempts, {args.engine} engine, {workers} pool "
          f"processes on {cores} cores (load average {os.getloadavg()[0]:.1f} at the end)")
    print(f"  statuses: {statuses}")
    print(f"  lost: {args.attempts - len(word_counts)}   duplicated rows: "
          f"{sum(1 for c in word_counts.values() if c != 6)}   tries used: {sorted(tries)}")
    print(f"  all uploads answered in {uploaded - started:.1f} s; all finished after "
          f"{elapsed:.1f} s (database: {(last_finish - first_create).total_seconds():.1f} s)")
    print(f"  engine time per attempt (baseline): {baseline * 1000:.0f} ms")
    print(f"  achieved {per_minute:.0f}/min vs engine-bound limit {limit:.0f}/min "
          f"→ {per_minute / limit:.0%} (target ≥ 80 %)")
    ok = statuses["succeeded"] == args.attempts and all(c == 6 for c in word_counts.values())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
