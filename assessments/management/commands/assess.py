"""``python manage.py assess`` — score audio files from the command line or a script.

Each file goes through the same conversion as an upload (:func:`assessments.audio.audio_convert`)
and then through ONE engine instance shared by the whole run (one model load, one HTTP
session, one token). A file that is refused, not recognised (``NoMatch`` …, whichever engine
ran) or that hits an unexpected error is reported with its error code and message, the others
are still assessed, and the exit status is non-zero at the end. See ``docs/results.md``.
"""

from __future__ import annotations

import argparse
import json
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.audio import ConvertedAudio, audio_convert
from assessments.engines import ENGINE_NAMES, get_engine
from assessments.engines.base import (
    DIMENSIONS,
    EN_US_ONLY_LOCALES,
    GRADING_SYSTEMS,
    GRANULARITIES,
    AssessmentError,
    AssessmentSettings,
    Engine,
    InvalidSettings,
    NotRecognised,
)
from assessments.results import SCORE_NAMES, AssessmentResult

INTERNAL_ERROR = "internal_error"


class Command(BaseCommand):
    help = (
        "Assess the pronunciation in audio files against a reference text. Files are "
        "converted exactly as uploads are. Prints scores and a word table, or one JSON "
        "object per file with --json. Exits non-zero if any file could not be assessed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("audio", nargs="*", metavar="AUDIO", help="Audio files to assess.")
        parser.add_argument("--text", help="Reference text for the AUDIO files.")
        parser.add_argument(
            "--text-file",
            help="Batch file of 'path<TAB>reference text' lines (blank lines and lines "
            "starting with # are skipped; relative paths are relative to this file).",
        )
        parser.add_argument("--locale", default="en-US")
        parser.add_argument(
            "--engine",
            choices=ENGINE_NAMES,
            default=None,
            help="Default: the configured ASSESSMENT_ENGINE.",
        )
        parser.add_argument("--grading", choices=GRADING_SYSTEMS, default="HundredMark")
        parser.add_argument("--granularity", choices=GRANULARITIES, default="Phoneme")
        parser.add_argument("--dimension", choices=DIMENSIONS, default="Comprehensive")
        parser.add_argument("--miscue", action=argparse.BooleanOptionalAction, default=True)
        parser.add_argument(
            "--prosody",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Default: on for en-US (the only locale that supports it), off otherwise.",
        )
        parser.add_argument(
            "--json", action="store_true", help="One JSON object per file, one per line."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = _jobs(audio=options["audio"], text=options["text"], text_file=options["text_file"])
        base = _base_settings(options)
        try:
            engine = get_engine(options["engine"])
        except (AssessmentError, ImproperlyConfigured, ValueError) as error:
            raise CommandError(f"Cannot start the assessment engine: {error}") from error

        failed = 0
        for path, text in jobs:
            try:
                converted, result = _assess_file(
                    engine=engine, path=path, settings=replace(base, reference_text=text)
                )
            except AssessmentError as error:
                failed += 1
                self._report_failure(path=path, error=error, as_json=options["json"])
                continue
            except Exception as crash:  # noqa: BLE001 - one bad file must not end the batch
                failed += 1
                if options.get("traceback"):  # Django's --traceback: the full story, on request
                    self.stderr.write(traceback.format_exc())
                error = _internal_error(crash)
                self._report_failure(path=path, error=error, as_json=options["json"])
                continue
            if options["json"]:
                line = json.dumps({"file": path, **result.to_dict()}, ensure_ascii=False)
            else:
                line = _describe(
                    path=path, result=result, original_ms=converted.original_duration_ms
                )
            self.stdout.write(line)
        if failed:
            raise CommandError(f"{failed} of {len(jobs)} file(s) could not be assessed.")

    def _report_failure(self, *, path: str, error: AssessmentError, as_json: bool) -> None:
        if as_json:
            detail = {
                "code": error.code,
                "message": error.learner_message,
                "detail": error.operator_message,
            }
            self.stdout.write(json.dumps({"file": path, "error": detail}, ensure_ascii=False))
        if error.code == INTERNAL_ERROR:
            self.stderr.write(f"{path}: failed [{error.code}] {error.operator_message}")
        else:
            self.stderr.write(f"{path}: refused [{error.code}] {error.learner_message}")


def _internal_error(crash: Exception) -> AssessmentError:
    """An unexpected exception as a per-file failure with a one-line detail (no traceback)."""
    first_line = (str(crash).strip().splitlines() or [""])[0][:200]
    summary = f"{type(crash).__name__}: {first_line}" if first_line else type(crash).__name__
    return AssessmentError(
        INTERNAL_ERROR,
        "Something went wrong while assessing this file.",
        operator_message=summary,
    )


def _assess_file(
    *, engine: Engine, path: str, settings: AssessmentSettings
) -> tuple[ConvertedAudio, AssessmentResult]:
    """Convert as an upload is converted, then assess; every refusal is an AssessmentError."""
    settings.validate()  # e.g. an empty reference text on one line of a batch file
    try:
        converted = audio_convert(source=path)
    except OSError as error:  # missing, unreadable, a directory
        raise AssessmentError(
            "unreadable", "The file could not be read.", operator_message=str(error)
        ) from error
    result = engine.assess(wav=converted.wav, settings=settings)
    if not result.succeeded:
        # NoMatch and the like: refused with the same code and message as an upload gets.
        raise NotRecognised(result)
    # As for uploads: report the assessed length and whether the recording was cut.
    result.audio_duration_ms = converted.duration_ms
    result.trimmed = converted.trimmed
    return converted, result


def _jobs(*, audio: list[str], text: str | None, text_file: str | None) -> list[tuple[str, str]]:
    """(path, reference text) for every file to assess, in order."""
    if audio and text is None:
        raise CommandError("Give the reference text with --text (or use --text-file).")
    jobs = [(path, text or "") for path in audio]
    if text_file:
        jobs += _read_text_file(Path(text_file))
    if not jobs:
        raise CommandError("Nothing to assess: give AUDIO files or --text-file.")
    return jobs


def _read_text_file(text_file: Path) -> list[tuple[str, str]]:
    try:
        lines = text_file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CommandError(f"Cannot read --text-file: {error}") from error
    jobs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        path, tab, text = line.partition("\t")
        if not tab:
            raise CommandError(f"{text_file}:{number}: expected 'path<TAB>reference text'.")
        jobs.append((str(text_file.parent / path.strip()), text.strip()))
    return jobs


def _base_settings(options: dict[str, Any]) -> AssessmentSettings:
    """The settings shared by every file; fails before any work if they are invalid."""
    prosody = options["prosody"]
    if prosody is None:
        prosody = options["locale"] in EN_US_ONLY_LOCALES
    base = AssessmentSettings(
        reference_text="placeholder",  # each file's own text replaces it
        locale=options["locale"],
        grading_system=options["grading"],
        granularity=options["granularity"],
        dimension=options["dimension"],
        enable_miscue=options["miscue"],
        enable_prosody=prosody,
    )
    try:
        base.validate()
    except InvalidSettings as error:
        raise CommandError(error.operator_message) from error
    return base


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _describe(*, path: str, result: AssessmentResult, original_ms: int) -> str:
    """Scores and a word table for people reading a terminal."""
    seconds = (result.audio_duration_ms or 0) / 1000
    length = f"{seconds:.1f} s"
    if result.trimmed:
        length += f" (cut from {original_ms / 1000:.1f} s)"
    lines = [f"{path} — {result.engine}, {length}, {result.recognition_status}"]
    lines.append(
        "  "
        + "  ".join(
            f"{name.capitalize()} {_score(result.scores()[name])}"
            for name in ("pronunciation", *SCORE_NAMES[:-1])
        )
    )
    if result.recognized_text:
        lines.append(f"  Heard: {result.recognized_text}")
    if result.words:
        lines.append(f"  {'Word':<16}{'Accuracy':>9}  {'Error':<17}Phonemes")
        for word in result.words:
            phonemes = " ".join(f"{p.phoneme}:{_score(p.accuracy)}" for p in word.phonemes)
            lines.append(
                f"  {word.word:<16}{_score(word.accuracy):>9}  {word.error_type:<17}{phonemes}"
            )
    return "\n".join(lines)
