"""TTS benchmark: personal say texts rendered by espeak-ng, as a call waits for them.

- text: a template filled for one contact (money, date, name spelled out), in µs;
- render: a personal text not in the cache -> 8 kHz WAV ready to play (espeak-ng run,
  decoded, converted, renamed into the cache), one at a time; goal p95 <= 500 ms, so a
  personal greeting adds at most half a second before it plays;
- burst: 20 calls asking for 20 different texts at once (asyncio, renders in threads);
- hit: a text already in the cache (a static prompt; a retried contact).
Prints a table, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import wave
from pathlib import Path

from bench_report import print_figures

from ivr.say_template import parse_template
from ivr.tts import TtsVoices
from ivr.tts_settings import TtsSettings

TEMPLATE = "Здравствуйте, {name}! Ваш долг {amount:money}, оплатите до {due:date}."
NAMES = ("Анна", "Борис", "Вера", "Григорий", "Дарья", "Евгений", "Жанна", "Зиновий")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def contact(i: int) -> dict[str, str]:
    return {
        "name": NAMES[i % len(NAMES)],
        "amount": f"{1000 + 37 * i},{i % 100:02d}",
        "due": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=50)
    args = parser.parse_args()
    template = parse_template(TEMPLATE)
    started = time.perf_counter()
    texts = [template.fill(contact(i).get, "ru") for i in range(args.texts + 20)]
    fill_us = (time.perf_counter() - started) / len(texts) * 1e6
    with tempfile.TemporaryDirectory() as tmp:
        voices = TtsVoices(TtsSettings(cache_dir=Path(tmp)), "ru")
        voices.render("проверка", None)  # espeak-ng's data in the page cache
        render_ms, audio_s = [], 0.0
        for text in texts[: args.texts]:
            t0 = time.perf_counter()
            played = await voices.speak(text, None, personal=True)
            render_ms.append((time.perf_counter() - t0) * 1000)
            with wave.open(f"{played}.wav", "rb") as w:
                audio_s += w.getnframes() / w.getframerate()
        t0 = time.perf_counter()
        await asyncio.gather(*(voices.speak(t, None, personal=True) for t in texts[args.texts :]))
        burst_s = time.perf_counter() - t0
        hit_ms = []
        for text in texts[:20]:
            t0 = time.perf_counter()
            await voices.speak(text, None, personal=True)
            hit_ms.append((time.perf_counter() - t0) * 1000)
    p95 = percentile(render_ms, 0.95)
    figures = {
        "texts": args.texts,
        "fill_us": round(fill_us, 1),
        "render_p50_ms": round(percentile(render_ms, 0.5), 1),
        "render_p95_ms": round(p95, 1),
        "audio_per_text_s": round(audio_s / args.texts, 2),
        "burst_20_texts_s": round(burst_s, 2),
        "hit_p95_ms": round(percentile(hit_ms, 0.95), 2),
    }
    print_figures(
        "Personal say texts (espeak-ng, ru): text -> 8 kHz WAV in the cache",
        figures,
        {"render_p95_ms": ("<= 500", p95 <= 500)},
    )


if __name__ == "__main__":
    asyncio.run(main())
