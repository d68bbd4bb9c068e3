"""A script's prompt files are made playable before the campaign starts."""

from __future__ import annotations

import math
import struct
import subprocess
import wave
from pathlib import Path

import pytest

from dialer.campaign.loader import parse_campaign
from ivr.prompt_files import prepare_script_prompts
from ivr.prompts import PromptError

CAMPAIGN = """\
name: p
list: l
ami: {secret: x}
dial: {channel: "Local/{number}@dialer-test-callees"}
on_answer: {action: ivr}
ivr:
  sounds_dir: SOUNDS
  start: hello
  steps:
    hello: {kind: play, prompts: [shop/hello], next: offer}
    offer: {kind: menu, prompt: shop/offer, keys: {"1": bye}, on_timeout: bye}
    bye: {kind: hangup, prompt: shop/bye}
"""


def tone(path: Path, rate: int = 44100, seconds: float = 0.3) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(
            struct.pack("<hh", v, v)
            for v in (
                int(8000 * math.sin(2 * math.pi * 440 * i / rate))
                for i in range(int(rate * seconds))
            )
        )
        out.writeframes(frames)


def make_sounds(root: Path) -> None:
    (root / "shop").mkdir(parents=True)
    tone(root / "shop" / "hello.wav")
    tone(root / "tmp.wav")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(root / "tmp.wav"),
            str(root / "shop" / "offer.mp3"),
        ],
        check=True,
    )
    (root / "tmp.wav").unlink()
    (root / "shop" / "bye.gsm").write_bytes(b"\xd8" * 33 * 10)  # a native format: played as is


def load(root: Path):  # type: ignore[no-untyped-def]
    campaign = parse_campaign(CAMPAIGN.replace("SOUNDS", str(root)))
    assert campaign.ivr is not None
    return campaign.ivr


def test_given_wav_mp3_and_gsm_prompts_when_prepared_then_each_plays_from_its_file(
    tmp_path: Path,
) -> None:
    make_sounds(tmp_path)
    playable = prepare_script_prompts(load(tmp_path))
    assert set(playable) == {"shop/hello", "shop/offer", "shop/bye"}
    for name in ("shop/hello", "shop/offer"):
        converted = Path(playable[name] + ".wav")
        with wave.open(str(converted)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    assert playable["shop/bye"] == str((tmp_path / "shop" / "bye").resolve())
    again = prepare_script_prompts(load(tmp_path))
    assert again == playable  # cached by content


def test_given_a_broken_prompt_file_when_prepared_then_start_is_refused(tmp_path: Path) -> None:
    make_sounds(tmp_path)
    (tmp_path / "shop" / "offer.mp3").write_bytes(b"not audio at all")
    with pytest.raises(PromptError, match=r"offer\.mp3"):
        prepare_script_prompts(load(tmp_path))
