"""Client overhead of the Azure engine against the local double, vs. bare ``requests``.

Runs the loopback double (``tests.support.azure_double``) in a separate process with zero
latency, then times, interleaved so machine noise hits every variant alike:

- ``engine``: ``AzureEngine.assess`` — settings check, WAV check, header build, the POST
  (streamed or whole), JSON parse into the result dataclasses;
- ``bare``: a pooled ``requests.Session.post`` of the same bytes with prebuilt headers and
  ``json.loads`` of the answer — the least any client must do;
- ``requests.post``: the module-level call (a new connection every time), for reference.

Prints per-request medians, the engine/bare ratio (target ≤ 1.2×) and a breakdown of the
client-side steps. Usage: ``.venv/bin/python bench/azure_client.py [--iterations 300]``.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import statistics
import subprocess
import sys
import time
import timeit
import uuid
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assessments.engines.azure import AzureEngine  # noqa: E402
from assessments.engines.azure.config import AzureConfig  # noqa: E402
from assessments.engines.azure.credentials import AzureCredentials  # noqa: E402
from assessments.engines.azure.parse import parse_result  # noqa: E402
from assessments.engines.azure.request import (  # noqa: E402
    assessment_header,
    check_settings,
    iter_chunks,
    prepare_audio,
    request_headers,
)
from assessments.engines.base import AssessmentSettings  # noqa: E402

KEY = "bench-loopback-key"
STT_PATH = "/speech/recognition/conversation/cognitiveservices/v1"
LESSON = AssessmentSettings(reference_text="Good morning, how are you today? I'm fine, thanks.")


def make_wav(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_double(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.azure_double", "--port", str(port), "--key", KEY],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the Azure double did not start")


def engine_for(endpoint: str, *, stream: bool) -> AzureEngine:
    credentials = AzureCredentials.from_values(mode="key", key=KEY)
    return AzureEngine(
        config=AzureConfig(endpoint=endpoint, credentials=credentials, stream=stream)
    )


def bare_call(session: requests.Session, endpoint: str, wav: bytes, *, stream: bool):
    headers = request_headers(
        assessment=assessment_header(LESSON),
        connection_id="",
        auth=("Ocp-Apim-Subscription-Key", KEY),
        stream=stream,
    )
    params = {"language": "en-US", "format": "detailed"}
    audio = prepare_audio(wav)

    def call() -> None:
        headers["X-ConnectionId"] = uuid.uuid4().hex  # a fresh id per request, as the client sends
        body = iter_chunks(audio, chunk_size=8192) if stream else wav
        response = session.post(endpoint, params=params, headers=headers, data=body, timeout=10)
        assert response.status_code == 200, response.text
        json.loads(response.content)

    return call


def module_post_call(endpoint: str, wav: bytes) -> Callable[[], None]:
    headers = request_headers(
        assessment=assessment_header(LESSON),
        connection_id="",
        auth=("Ocp-Apim-Subscription-Key", KEY),
        stream=False,
    )

    def call() -> None:
        headers["X-ConnectionId"] = uuid.uuid4().hex
        response = requests.post(
            endpoint,
            params={"language": "en-US", "format": "detailed"},
            headers=headers,
            data=wav,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        json.loads(response.content)

    return call


def measure(variants: dict[str, Callable[[], None]], iterations: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for _ in range(10):  # warm-up: connections, imports, caches
        for call in variants.values():
            call()
    for i in range(iterations):
        # Rotate the order so no variant always runs right after another.
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - started)
    return times


def micro(wav: bytes, payload: dict) -> dict[str, float]:
    """Microseconds per call of each client-side step, without the network."""
    steps = {
        "check settings": lambda: check_settings(LESSON),
        "check WAV": lambda: prepare_audio(wav),
        "build headers": lambda: request_headers(
            assessment=assessment_header(LESSON),
            connection_id=uuid.uuid4().hex,
            auth=("Ocp-Apim-Subscription-Key", KEY),
            stream=True,
        ),
        "chunk body": lambda: sum(1 for _ in iter_chunks(prepare_audio(wav), chunk_size=8192)),
        "parse response": lambda: parse_result(payload, grading_system="HundredMark"),
    }
    found = {}
    for name, step in steps.items():
        runs = 2000
        found[name] = min(timeit.repeat(step, number=runs, repeat=3)) / runs * 1e6
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0, help="audio length")
    args = parser.parse_args()

    port = free_port()
    double = start_double(port)
    endpoint = f"http://127.0.0.1:{port}{STT_PATH}"
    wav = make_wav(args.seconds)
    try:
        session = requests.Session()
        # Same as the engine's session: no proxy/.netrc lookups from the environment, which
        # would otherwise cost the baseline a file read per request.
        session.trust_env = False
        streamed, whole = engine_for(endpoint, stream=True), engine_for(endpoint, stream=False)
        variants = {
            "engine streamed": lambda: streamed.assess(wav=wav, settings=LESSON),
            "bare streamed": bare_call(session, endpoint, wav, stream=True),
            "engine whole": lambda: whole.assess(wav=wav, settings=LESSON),
            "bare whole": bare_call(session, endpoint, wav, stream=False),
            "requests.post whole": module_post_call(endpoint, wav),
        }
        times = measure(variants, args.iterations)
        sample = requests.Session()
        payload = sample.post(
            endpoint,
            params={"language": "en-US", "format": "detailed"},
            headers={
                **request_headers(
                    assessment=assessment_header(LESSON),
                    connection_id=uuid.uuid4().hex,
                    auth=("Ocp-Apim-Subscription-Key", KEY),
                    stream=False,
                )
            },
            data=wav,
            timeout=10,
        ).json()
    finally:
        double.terminate()
        double.wait(timeout=10)

    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(
        f"{args.iterations} interleaved requests each, {len(wav) / 1024:.0f} KiB WAV "
        f"({args.seconds:g} s), double in its own process, zero latency\n"
    )
    print(f"{'variant':<22}{'median ms':>10}{'p90 ms':>9}")
    for name, values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1] * 1000
        print(f"{name:<22}{medians[name]:>10.3f}{p90:>9.3f}")
    print()
    for mode in ("streamed", "whole"):
        ratio = medians[f"engine {mode}"] / medians[f"bare {mode}"]
        delta = (medians[f"engine {mode}"] - medians[f"bare {mode}"]) * 1000
        verdict = "OK" if ratio <= 1.2 else "OVER TARGET"
        print(
            f"ratio engine/bare ({mode}): {ratio:.3f}x  (+{delta:.0f} µs/request)  "
            f"target <= 1.2x: {verdict}"
        )
    print(
        f"ratio engine streamed / requests.post whole: "
        f"{medians['engine streamed'] / medians['requests.post whole']:.3f}x"
    )
    print("\nclient-side steps (µs per call, no network):")
    for name, micros in micro(wav, payload).items():
        print(f"  {name:<16}{micros:>8.1f}")


if __name__ == "__main__":
    main()
