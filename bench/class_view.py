"""Benchmark: the teacher class view, learner history and CSV exports on a large class.

Seeds 50 learners × 200 attempts × 10 words (100 000 word rows, 300 000 phoneme rows) into
a temporary SQLite database, then times each page through Django's test client (server
time, median of several runs) and reports its query count. Machines differ, so the figures
are also given as a ratio against baselines measured in the same run: a bare SELECT of the
class's word rows, and a request for a near-empty page (the login form).

    .venv/bin/python bench/class_view.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEARNERS = 50
ATTEMPTS_EACH = 200
WORDS = ("the", "north", "wind", "and", "sun", "were", "disputing", "which", "was", "stronger")
PHONEMES_PER_WORD = 3
LESSONS = 8
CLASS_VIEW_BUDGET_MS = 150.0


def _setup(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["TUTOR_VAR_DIR"] = str(tmp)
    (tmp / "static").mkdir(exist_ok=True)  # WhiteNoise warns about a missing STATIC_ROOT
    os.environ["DEBUG"] = "0"  # as in production: no query log kept unless captured
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["ASSESSMENT_ENGINE"] = "local"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed() -> dict:
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from assessments.models import Attempt, AttemptStatus, PhonemeResult, WordResult
    from assessments.results import ErrorType
    from tutor.models import Assignment, Classroom, Lesson, Role, User

    started = time.perf_counter()
    password = make_password("bench-password")
    now = timezone.now()
    with transaction.atomic():
        teacher = User.objects.create(username="teacher", role=Role.TEACHER, password=password)
        learners = User.objects.bulk_create(
            User(username=f"learner{i:02d}", first_name="Learner", last_name=f"{i:02d}",
                 role=Role.LEARNER, password=password)
            for i in range(LEARNERS)
        )
        lessons = Lesson.objects.bulk_create(
            Lesson(title=f"Lesson {i}", reference_text=" ".join(WORDS), order=i)
            for i in range(LESSONS)
        )
        classroom = Classroom.objects.create(name="Big class")
        classroom.teachers.add(teacher)
        classroom.learners.add(*learners)
        Assignment.objects.bulk_create(
            Assignment(classroom=classroom, lesson=lesson,
                       due_date=(now + timedelta(days=i)).date())
            for i, lesson in enumerate(lessons)
        )
        attempts = []
        for li, learner in enumerate(learners):
            for n in range(ATTEMPTS_EACH):
                score = float(40 + (n * 7 + li * 3) % 60)
                attempts.append(Attempt(
                    learner=learner, lesson=lessons[n % LESSONS],
                    reference_text=" ".join(WORDS),
                    original_audio=f"recordings/{learner.pk}/{n}/original",
                    status=AttemptStatus.SUCCEEDED if n % 20 else AttemptStatus.FAILED,
                    engine="local", accuracy=score, fluency=score - 3, completeness=98.0,
                    prosody=score - 8, pronunciation=score - 2,
                ))
        attempts = Attempt.objects.bulk_create(attempts, batch_size=2000)
        for index, attempt in enumerate(attempts):
            # Spread over about seven months, as a real class's history would be.
            attempt.created_at = now - timedelta(hours=index % 5000)
        Attempt.objects.bulk_update(attempts, ["created_at"], batch_size=2000)
        errors = (ErrorType.NONE,) * 6 + (
            ErrorType.MISPRONUNCIATION, ErrorType.OMISSION, ErrorType.INSERTION,
            ErrorType.MONOTONE,
        )
        words = WordResult.objects.bulk_create(
            (
                WordResult(
                    attempt=attempt, order=i, word=word,
                    error_type=errors[(i + attempt.pk) % len(errors)],
                    accuracy=float(30 + (i * 13 + attempt.pk) % 70),
                    unexpected_break=(i + attempt.pk) % 17 == 0,
                )
                for attempt in attempts
                for i, word in enumerate(WORDS)
            ),
            batch_size=5000,
        )
        phonemes = PhonemeResult.objects.bulk_create(
            (
                PhonemeResult(
                    attempt_id=word.attempt_id, word=word, order=j,
                    phoneme=("dh", "ax", "n", "ao", "r", "th", "w", "ih", "d")[
                        (word.order + j) % 9],
                    accuracy=float(20 + (word.pk * 7 + j) % 80),
                )
                for word in words
                for j in range(PHONEMES_PER_WORD)
            ),
            batch_size=5000,
        )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # let SQLite's planner see the real table sizes
    return {
        "teacher": teacher,
        "classroom": classroom,
        "learner": learners[0],
        "attempts": len(attempts),
        "words": len(words),
        "phonemes": len(phonemes),
        "seconds": time.perf_counter() - started,
    }


def _median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up: template loading, first connection
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _queries(action: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        _setup(Path(tmp))
        from django.test import Client
        from django.urls import reverse

        from assessments.models import WordResult
        from tutor.models import Classroom

        seeded = _seed()
        print(
            f"Seeded {LEARNERS} learners, {seeded['attempts']} attempts, {seeded['words']} "
            f"word rows, {seeded['phonemes']} phoneme rows in {seeded['seconds']:.1f} s."
        )
        client = Client()
        client.force_login(seeded["teacher"])
        classroom = seeded["classroom"]

        def get(url: str) -> Callable[[], object]:
            def run() -> object:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                if response.streaming:
                    return sum(len(chunk) for chunk in response.streaming_content)
                return len(response.content)
            return run

        def bare_select() -> int:
            learner_ids = Classroom.learners.through.objects.filter(
                classroom=classroom
            ).values("user_id")
            return len(list(WordResult.objects.filter(
                attempt__learner_id__in=learner_ids
            ).values_list("pk", "word", "accuracy", "error_type")))

        pages = {
            "class view": reverse("teacher-class", args=[classroom.pk]),
            "class scores chart (fetched)": reverse("teacher-class-chart-scores",
                                                    args=[classroom.pk]),
            "class scores table (no JS)": reverse("teacher-class-scores-weekly",
                                                  args=[classroom.pk]),
            "learner history": reverse("teacher-learner",
                                       args=[classroom.pk, seeded["learner"].pk]),
            "learner history, sorted, page 3": reverse(
                "teacher-learner", args=[classroom.pk, seeded["learner"].pk]
            ) + "?sort=-pronunciation&page=3",
            "dashboard": reverse("teacher-dashboard"),
            "CSV export: attempts": reverse("teacher-class-export-attempts",
                                            args=[classroom.pk]),
            "CSV export: words": reverse("teacher-class-export-words", args=[classroom.pk]),
        }
        baseline_select = _median_ms(bare_select, args.runs)
        anonymous = Client()
        baseline_page = _median_ms(get_anonymous(anonymous, reverse("login")), args.runs)
        print(f"\nBaselines (median of {args.runs}):")
        print(f"  bare SELECT of the class's {seeded['words']} word rows: "
              f"{baseline_select:8.1f} ms")
        print(f"  near-empty page (login form):                 {baseline_page:8.1f} ms")
        print(f"\n{'page':34} {'median ms':>10} {'queries':>8} {'× SELECT':>9} {'× page':>8}")
        results = {}
        for name, url in pages.items():
            ms = _median_ms(get(url), args.runs)
            queries = _queries(get(url))
            results[name] = ms
            print(f"{name:34} {ms:10.1f} {queries:8d} {ms / baseline_select:9.2f} "
                  f"{ms / baseline_page:8.1f}")
        verdict = "within" if results["class view"] <= CLASS_VIEW_BUDGET_MS else "OVER"
        print(f"\nClass view: {results['class view']:.1f} ms, {verdict} the "
              f"{CLASS_VIEW_BUDGET_MS:.0f} ms budget on this machine.")
    return 0


def get_anonymous(client: object, url: str) -> Callable[[], object]:
    def run() -> object:
        return client.get(url).content

    return run


if __name__ == "__main__":
    sys.exit(main())
