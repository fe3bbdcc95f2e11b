"""Audio conversion speed: the pipeline against the bare ffmpeg CLI, measured in one run.

    .venv/bin/python bench/audio_conversion.py [--repeat 9] [--check]

Inputs are generated in a temporary folder (espeak-ng speech, looped): a 30 s WebM/Opus
clip as Chrome records it (48 kHz) and a 60 s 44.1 kHz stereo 16-bit WAV (10.6 MB, so the
upload limit is raised for this run). Each is converted

* by the pipeline, ``assessments.audio.audio_convert`` (content sniffing, decode, level
  analysis, silence trim, 30 s cut, WAV bytes in memory), and
* by ffmpeg directly to the same output: ``ffmpeg -i IN -t 30 -ac 1 -ar 16000 -c:a pcm_s16le
  OUT.wav`` — plus, for reference, the whole file without ``-t``.

Runs are interleaved and repeated; the medians and the ratio pipeline / ffmpeg are printed.
Target: pipeline ≤ 1.3 × ffmpeg. ``--check`` exits 1 when a ratio misses it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")
# The 60 s 44.1 kHz stereo WAV is 10.6 MB, just over the default 10 MB upload limit; this
# measures conversion, not the limit, so raise it for the run.
os.environ["AUDIO_MAX_UPLOAD_BYTES"] = str(64 * 1024 * 1024)

import django  # noqa: E402

django.setup()

from assessments.audio import audio_convert  # noqa: E402
from assessments.ffmpeg import ffmpeg_binary  # noqa: E402

TARGET_RATIO = 1.3
MAX_SECONDS = 30.0
TEXT = (
    "Please read this sentence aloud, clearly and at a comfortable pace, "
    "so that we can score your pronunciation."
)


def ffmpeg(*args: str, binary: str | None = None) -> None:
    """The bare ffmpeg CLI; by default the same program the pipeline runs."""
    command = [binary or ffmpeg_binary(), "-nostdin", "-v", "error", "-y", *args]
    subprocess.run(command, check=True)


def make_inputs(folder: Path) -> dict[str, Path]:
    speech = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "--", TEXT], check=True, capture_output=True)
    webm = folder / "clip-30s.webm"
    ffmpeg(
        "-stream_loop",
        "-1",
        "-i",
        str(speech),
        "-t",
        "30",
        "-ar",
        "48000",
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        str(webm),
    )
    wav = folder / "clip-60s-44k-stereo.wav"
    ffmpeg(
        "-stream_loop",
        "-1",
        "-i",
        str(speech),
        "-t",
        "60",
        "-ar",
        "44100",
        "-ac",
        "2",
        "-c:a",
        "pcm_s16le",
        str(wav),
    )
    return {"30 s WebM/Opus 48 kHz": webm, "60 s WAV 44.1 kHz stereo": wav}


def _cpu_seconds() -> float:
    """CPU used so far by this process and its finished children (ffmpeg), user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_seconds(
    runs: dict[str, Callable[[], object]], repeat: int
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each callable, interleaved so drift hits all equally.

    Wall time is the target; CPU time is printed too because on a busy machine it is far
    steadier (wall time then mostly measures waiting for a core).
    """
    for run in runs.values():  # warm caches (page cache, imports, ffmpeg libraries)
        run()
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            cpu_start, start = _cpu_seconds(), time.perf_counter()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(_cpu_seconds() - cpu_start)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs}


def _ms(times: tuple[float, float]) -> str:
    return f"{times[0] * 1000:.0f} ({times[1] * 1000:.0f})"


def _ratio(a: tuple[float, float], b: tuple[float, float]) -> str:
    return f"{a[0] / b[0]:.2f} ({a[1] / b[1]:.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--check", action="store_true", help="exit 1 if a ratio misses 1.3")
    options = parser.parse_args()
    for tool in ("espeak-ng",):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (make install-test).", file=sys.stderr)
            return 2

    missed = False
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        folder = Path(tmp)
        out = folder / "out.wav"
        print(f"Audio conversion, median of {options.repeat} runs, max {MAX_SECONDS:g} s")
        print(f"ffmpeg: {ffmpeg_binary()}")
        print("wall ms (CPU ms); ratio = pipeline / ffmpeg\n")
        header = ["input", "pipeline", "ffmpeg -t 30", "ratio", "ffmpeg whole", "ratio"]
        print(
            f"{header[0]:<26}{header[1]:>16}{header[2]:>16}{header[3]:>13}"
            f"{header[4]:>16}{header[5]:>13}"
        )
        for label, source in make_inputs(folder).items():
            base = ["-i", str(source), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"]
            medians = median_seconds(
                {
                    "pipeline": lambda s=source: audio_convert(source=s, max_seconds=MAX_SECONDS),
                    "same": lambda b=base: ffmpeg(*b, "-t", f"{MAX_SECONDS:g}", str(out)),
                    "whole": lambda b=base: ffmpeg(*b, str(out)),
                },
                options.repeat,
            )
            pipeline, same, whole = medians["pipeline"], medians["same"], medians["whole"]
            ratio = pipeline[0] / same[0]
            missed |= ratio > TARGET_RATIO
            print(
                f"{label:<26}{_ms(pipeline):>16}{_ms(same):>16}{_ratio(pipeline, same):>13}"
                f"{_ms(whole):>16}{_ratio(pipeline, whole):>13}"
            )
    verdict = "missed" if missed else "met"
    print(f"\nTarget (wall time) pipeline ≤ {TARGET_RATIO}× ffmpeg, same output: {verdict}.")
    return 1 if missed and options.check else 0


if __name__ == "__main__":
    sys.exit(main())
