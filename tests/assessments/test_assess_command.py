"""``manage.py assess`` on real files: good ones scored, bad ones refused, one engine per run.

The Azure runs go through the real client and HTTP to the loopback double (``azure_double``
from ``tests/conftest.py``); the offline run uses the real offline engine.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assessments import engines
from assessments.engines.base import RECOGNITION_FAILURES
from assessments.management.commands import assess as assess_command
from assessments.results import AssessmentResult, RecognitionStatus
from tests.support.azure_double import recognition_status

# azure_double comes from tests/conftest.py.

TEXT = "Good morning, how are you today?"
OTHER_TEXT = "The weather is lovely."
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(audio_factory):
    speech = audio_factory.speech(TEXT)
    other = audio_factory.speech(OTHER_TEXT)
    return {
        "webm": audio_factory.transcode(speech, "webm"),
        "mp4": audio_factory.transcode(other, "mp4"),
        "flac": audio_factory.transcode(speech, "flac"),
        "empty": audio_factory.file("empty.webm", b""),
        "image": audio_factory.renamed(audio_factory.png(), name="photo.wav"),
        "silence": audio_factory.transcode(audio_factory.silence(seconds=2.0), "ogg"),
    }


def run(*args: object) -> tuple[list[str], str, CommandError | None]:
    """Run the command; (stdout lines, stderr, the CommandError it ended with, if any)."""
    out, err = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("assess", *map(str, args), stdout=out, stderr=err)
    except CommandError as raised:
        error = raised
    return out.getvalue().splitlines(), err.getvalue(), error


def test_json_lines_in_the_documented_shape(azure_double, files):
    lines, _, error = run(
        files["webm"], files["mp4"], "--text", TEXT, "--engine", "azure", "--json"
    )

    assert error is None
    assert len(lines) == 2
    for line, path in zip(lines, (files["webm"], files["mp4"]), strict=True):
        payload = json.loads(line)
        assert payload.pop("file") == str(path)
        result = AssessmentResult.from_dict(payload)
        assert result.to_dict() == payload  # nothing outside the documented shape
        assert result.engine == "azure"
        assert result.pronunciation is not None
        assert 0 < result.audio_duration_ms < 5_000
        assert [w.word.lower() for w in result.words] == [
            "good",
            "morning",
            "how",
            "are",
            "you",
            "today",
        ]
        assert all(word.phonemes for word in result.words)
    assert [r.reference_text for r in azure_double.requests] == [TEXT, TEXT]


def test_refused_files_are_reported_and_the_others_still_assessed(azure_double, files):
    order = ["webm", "empty", "image", "silence", "flac"]

    lines, stderr, error = run(
        *(files[name] for name in order), "--text", TEXT, "--engine", "azure", "--json"
    )

    assert error is not None and "3 of 5" in str(error)
    payloads = [json.loads(line) for line in lines]
    assert [p["file"] for p in payloads] == [str(files[name]) for name in order]
    assert [p.get("error", {}).get("code") for p in payloads] == [
        None,
        "empty",
        "not_audio",
        "no_speech",
        None,
    ]
    assert payloads[3]["error"]["message"].startswith("We couldn't hear any speech")
    assert payloads[0]["pronunciation"] is not None and payloads[4]["pronunciation"] is not None
    assert "[empty]" in stderr and "[not_audio]" in stderr and "[no_speech]" in stderr
    assert len(azure_double.requests) == 2  # refused files never reach the engine


def test_text_file_gives_each_file_its_own_text(azure_double, files, tmp_path):
    batch = tmp_path / "batch.tsv"
    batch.write_text(
        "# path<TAB>text\n"
        f"{files['webm']}\t{TEXT}\n"
        "\n"
        f"{os.path.relpath(files['mp4'], tmp_path)}\t{OTHER_TEXT}\n",
        encoding="utf-8",
    )

    lines, _, error = run("--text-file", batch, "--engine", "azure", "--json")

    assert error is None
    assert [r.reference_text for r in azure_double.requests] == [TEXT, OTHER_TEXT]
    results = [json.loads(line) for line in lines]
    assert Path(results[1]["file"]).resolve() == files["mp4"]
    assert [w["word"].lower() for w in results[1]["words"]] == ["the", "weather", "is", "lovely"]


def test_one_engine_and_one_token_for_the_whole_run(azure_double, files, settings, monkeypatch):
    settings.AZURE_SPEECH_AUTH = "token"
    built = []
    original = engines._build

    def counting_build(name):
        built.append(name)
        return original(name)

    monkeypatch.setattr(engines, "_build", counting_build)

    _, _, error = run(
        files["webm"], files["mp4"], files["flac"], "--text", TEXT, "--engine", "azure", "--json"
    )

    assert error is None
    assert built == ["azure"]
    assert len(azure_double.requests) == 3
    assert len(azure_double.token_requests) == 1
    tokens = {r.header("Authorization") for r in azure_double.requests}
    assert len(tokens) == 1


def test_human_readable_output_has_scores_and_a_word_table(azure_double, files):
    lines, _, error = run(files["webm"], "--text", TEXT, "--engine", "azure")

    assert error is None
    text = "\n".join(lines)
    assert str(files["webm"]) in lines[0] and "azure" in lines[0]
    assert "Pronunciation" in text and "Accuracy" in text and "Fluency" in text
    table = lines[lines.index(next(line for line in lines if line.strip().startswith("Word"))) :]
    words = [row.split()[0].lower().strip(",?") for row in table[1:]]
    assert words == ["good", "morning", "how", "are", "you", "today"]


def test_options_reach_the_engine(azure_double, files):
    _, _, error = run(
        files["webm"],
        "--text",
        TEXT,
        "--engine",
        "azure",
        "--locale",
        "en-GB",
        "--grading",
        "FivePoint",
        "--granularity",
        "Word",
        "--dimension",
        "Basic",
        "--no-miscue",
    )

    assert error is None
    sent = azure_double.last_request.assessment
    assert sent["GradingSystem"] == "FivePoint"
    assert sent["Granularity"] == "Word"
    assert sent["Dimension"] == "Basic"
    assert str(sent["EnableMiscue"]) in ("False", "false")
    # Prosody defaults to off outside en-US (it is en-US only).
    assert str(sent["EnableProsodyAssessment"]) in ("False", "false")
    assert azure_double.last_request.query["language"] == ["en-GB"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--locale", "de-DE", "--prosody"], "only available for en-US"),
        (["--locale", "xx-XX"], "does not support"),
    ],
)
def test_invalid_settings_stop_before_any_work(azure_double, files, args, message):
    _, _, error = run(files["webm"], "--text", TEXT, "--engine", "azure", *args)

    assert error is not None and message in str(error)
    assert azure_double.requests == []


def test_usage_errors(files, tmp_path):
    bad_batch = tmp_path / "bad.tsv"
    bad_batch.write_text("no tab on this line\n", encoding="utf-8")

    assert "--text" in str(run(files["webm"])[2])
    assert "Nothing to assess" in str(run("--text", TEXT)[2])
    assert "bad.tsv:1" in str(run("--text-file", bad_batch)[2])


def test_missing_file_is_refused_per_file(azure_double, files, tmp_path):
    lines, _, error = run(
        tmp_path / "nope.webm", files["webm"], "--text", TEXT, "--engine", "azure", "--json"
    )

    assert error is not None
    assert [json.loads(line).get("error", {}).get("code") for line in lines] == [
        "unreadable",
        None,
    ]


def test_exit_status_of_the_real_command(azure_double, files):
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "assess",
            str(files["empty"]),
            str(files["webm"]),
            "--text",
            TEXT,
            "--engine",
            "azure",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **azure_double.environ(), "DJANGO_SETTINGS_MODULE": "tutor.settings"},
    )

    assert done.returncode == 1
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["error"]["code"] == "empty"
    assert second["pronunciation"] is not None
    assert "[empty]" in done.stderr
    assert "Traceback" not in done.stderr


def test_offline_engine_scores_good_files_and_refuses_bad_ones(files, monkeypatch, tmp_path):
    built = []
    original = engines._build

    def counting_build(name):
        built.append(name)
        return original(name)

    monkeypatch.setattr(engines, "_instances", {})
    monkeypatch.setattr(engines, "_build", counting_build)
    batch = tmp_path / "batch.tsv"
    batch.write_text(
        "".join(
            f"{files[name]}\t{text}\n"
            for name, text in [
                ("webm", TEXT),
                ("empty", TEXT),
                ("image", TEXT),
                ("mp4", OTHER_TEXT),
                ("silence", TEXT),
            ]
        ),
        encoding="utf-8",
    )

    lines, stderr, error = run("--text-file", batch, "--engine", "local", "--json")

    assert error is not None and "3 of 5" in str(error)
    payloads = [json.loads(line) for line in lines]
    assert [p.get("error", {}).get("code") for p in payloads] == [
        None,
        "empty",
        "not_audio",
        None,
        "no_speech",
    ]
    assert "[no_speech]" in stderr
    for payload, text in ((payloads[0], TEXT), (payloads[3], OTHER_TEXT)):
        payload.pop("file")
        result = AssessmentResult.from_dict(payload)
        assert result.to_dict() == payload
        assert result.engine == "local"
        assert result.accuracy is not None and result.pronunciation is not None
        expected = [word.strip(",.?").lower() for word in text.split()]
        assert [w.word.strip(",.?").lower() for w in result.words] == expected
        assert any(word.phonemes for word in result.words)
    assert built == ["local"]  # one model load for the whole batch


def test_full_text_granularity_with_prosody_is_assessed(azure_double, files):
    # Prosody is on by default for en-US; FullText does not rule it out (not in the contract).
    lines, _, error = run(
        files["webm"], "--text", TEXT, "--engine", "azure", "--granularity", "FullText", "--json"
    )

    assert error is None
    sent = azure_double.last_request.assessment
    assert (sent["Granularity"], sent["EnableProsodyAssessment"]) == ("FullText", "True")
    assert json.loads(lines[0])["prosody"] is not None


class NoMatchEngine:
    """An offline-style engine that recognises nothing, as the real one does for a wrong text."""

    name = "local"

    def assess(self, *, wav, settings):
        return AssessmentResult(engine=self.name, recognition_status=RecognitionStatus.NO_MATCH)


def test_no_match_is_refused_the_same_way_by_both_engines(azure_double, files, monkeypatch):
    azure_double.enqueue(recognition_status("NoMatch"))
    monkeypatch.setattr(engines, "_instances", {"local": NoMatchEngine()})

    by_engine = {}
    for name in ("azure", "local"):
        lines, stderr, error = run(files["webm"], "--text", TEXT, "--engine", name, "--json")
        assert error is not None and "1 of 1" in str(error), name
        assert f"{files['webm']}: refused [no_match]" in stderr
        by_engine[name] = json.loads(lines[0])["error"]

    code, message = RECOGNITION_FAILURES[RecognitionStatus.NO_MATCH]
    for error in by_engine.values():
        assert (error["code"], error["message"]) == (code, message)
        assert "NoMatch" in error["detail"]
    assert azure_double.requests[0].connection_id in by_engine["azure"]["detail"]


def test_an_unexpected_error_in_one_file_does_not_stop_the_batch(azure_double, files,
                                                                  monkeypatch):
    real_convert = assess_command.audio_convert

    def convert(*, source):
        if str(source) == str(files["mp4"]):
            raise RuntimeError("decoder exploded\nsecond line of detail")
        return real_convert(source=source)

    monkeypatch.setattr(assess_command, "audio_convert", convert)

    lines, stderr, error = run(
        files["webm"], files["mp4"], files["flac"], "--text", TEXT, "--engine", "azure", "--json"
    )

    assert error is not None and "1 of 3" in str(error)
    first, crashed, last = (json.loads(line) for line in lines)
    assert first["pronunciation"] is not None and last["pronunciation"] is not None
    assert crashed["error"]["code"] == "internal_error"
    assert crashed["error"]["detail"] == "RuntimeError: decoder exploded"
    assert f"{files['mp4']}: failed [internal_error] RuntimeError: decoder exploded" in stderr
    assert "Traceback" not in stderr and "second line" not in stderr
    assert len(azure_double.requests) == 2
