"""ivr.tts against real programs: espeak-ng rendering Russian and English, a voice command
of our own that records exactly what it was given (hostile text included), the cache
shared by concurrent writers, and every way a voice can fail."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import wave
from pathlib import Path

import pytest

from ivr.tts import TtsError, TtsVoices
from ivr.tts_settings import TtsSettings, VoiceSettings

# A stand-in voice: writes the text it got (argv[2] or stdin) to argv[1], then 0.5 s of a
# 440 Hz tone at 16 kHz to the output (WAV, or raw PCM with a third argument "raw").
FAKE_VOICE = r"""
import math, struct, sys, wave
said, out = sys.argv[1], sys.argv[-1]
text = sys.argv[2] if len(sys.argv) > 4 or (len(sys.argv) == 4 and sys.argv[2] != "raw") else None
if text is None:
    text = sys.stdin.buffer.read().decode("utf-8")
with open(said, "a", encoding="utf-8") as f:
    f.write(text + "\0")
frames = b"".join(
    struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 16000))) for i in range(8000)
)
if "raw" in sys.argv[2:-1]:
    open(out, "wb").write(frames)
else:
    with wave.open(out, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(frames)
"""
HOSTILE = "$(touch PWNED) `touch PWNED2`; rm -rf ~ && echo 'q' \"qq\" {out} {text} -v --help"


def wav_params(played: str) -> tuple[int, int, int, float]:
    with wave.open(f"{played}.wav", "rb") as w:
        rate = w.getframerate()
        return rate, w.getnchannels(), w.getsampwidth(), w.getnframes() / rate


@pytest.fixture
def fake_voice(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "voice.py"
    script.write_text(FAKE_VOICE)
    return script, tmp_path / "said.txt"


def said(record: Path) -> list[str]:
    return record.read_text(encoding="utf-8").split("\0")[:-1]


def voices_with(tmp_path: Path, **voices: list[str]) -> TtsVoices:
    settings = TtsSettings(
        cache_dir=tmp_path / "cache",
        voices={name: VoiceSettings(command=cmd) for name, cmd in voices.items()},
    )
    return TtsVoices(settings, "ru")


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ru", "Здравствуйте, Анна! Ваш долг двадцать одна тысяча рублей."),
        ("en", "Hello Anna, you owe twenty-one thousand rubles."),
    ],
)
def test_espeak_renders_an_8k_wav_of_plausible_length(
    tmp_path: Path, language: str, text: str
) -> None:
    voices = TtsVoices(TtsSettings(cache_dir=tmp_path), language)
    played = voices.render(text, None)
    assert played == str(tmp_path.resolve() / Path(played).name)
    rate, channels, width, seconds = wav_params(played)
    assert (rate, channels, width) == (8000, 1, 2)
    assert 2.0 < seconds < 8.0  # about 50 characters at espeak's 175 words a minute
    assert [p.name for p in tmp_path.iterdir()] == [f"{Path(played).name}.wav"]  # no temp left


def test_the_cache_is_by_text_and_voice(tmp_path: Path) -> None:
    voices = TtsVoices(TtsSettings(cache_dir=tmp_path), "ru")
    first = voices.render("Добрый день", None)
    again = voices.render("Добрый день", None)
    other_voice = voices.render("Добрый день", "espeak-en")
    other_text = voices.render("Добрый вечер", None)
    assert first == again and voices.rendered == 3
    assert len({first, other_voice, other_text}) == 3
    # A new process (a new TtsVoices) finds the file: nothing rendered.
    assert (
        TtsVoices(TtsSettings(cache_dir=tmp_path), "ru").cached_name("Добрый день", None) == first
    )


@pytest.mark.parametrize("as_argument", [False, True])
def test_hostile_text_reaches_the_voice_as_plain_text(
    tmp_path: Path,
    fake_voice: tuple[Path, Path],
    as_argument: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script, record = fake_voice
    monkeypatch.chdir(tmp_path)
    command = [sys.executable, str(script), str(record)]
    command += ["{text}", "{out}"] if as_argument else ["{out}"]
    voices = voices_with(tmp_path, fake=command)
    text = HOSTILE + " второй абзац"  # texts reach voices on one line (say_template)
    played = voices.render(text, "fake")
    assert said(record) == [text]
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()
    assert wav_params(played)[:3] == (8000, 1, 2)


def test_a_raw_voice_is_read_at_its_rate(tmp_path: Path, fake_voice: tuple[Path, Path]) -> None:
    script, record = fake_voice
    settings = TtsSettings(
        cache_dir=tmp_path / "cache",
        voices={
            "raw": VoiceSettings(command=[sys.executable, str(script), str(record), "raw", "{out}"],
                                 rate=16000)
        },
    )  # fmt: skip
    played = TtsVoices(settings, "ru").render("привет", "raw")
    rate, _, _, seconds = wav_params(played)
    assert rate == 8000 and abs(seconds - 0.5) < 0.01


async def test_concurrent_calls_render_a_text_once(
    tmp_path: Path, fake_voice: tuple[Path, Path]
) -> None:
    script, record = fake_voice
    voices = voices_with(tmp_path, fake=[sys.executable, str(script), str(record), "{out}"])
    names = await asyncio.gather(*(voices.speak("Анна, добрый день", "fake") for _ in range(8)))
    assert len(set(names)) == 1 and voices.rendered == 1
    assert said(record) == ["Анна, добрый день"]


def test_processes_sharing_a_cache_never_see_a_half_written_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    results: list[str] = []
    errors: list[BaseException] = []

    def render() -> None:
        try:  # each thread is a separate TtsVoices, like another dialer node
            results.append(
                TtsVoices(TtsSettings(cache_dir=cache), "ru").render("Общий текст", None)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=render) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert [p.name for p in cache.iterdir()] == [f"{Path(results[0]).name}.wav"]
    assert wav_params(results[0])[:3] == (8000, 1, 2)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["no-such-tts-program", "{out}"], "voice 'v': no-such-tts-program is not installed"),
        (
            [sys.executable, "-c", "import sys; sys.exit('model not found: x.onnx')", "{out}"],
            "voice 'v' failed (exit 1): model not found: x.onnx",
        ),
        ([sys.executable, "-c", "pass", "{out}"], "voice 'v' wrote nothing to {out}"),
        (
            [sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write('no')", "{out}"],
            "voice 'v' wrote audio that cannot be read",
        ),
    ],
)
def test_a_failing_voice_is_a_clear_error_without_the_text(
    tmp_path: Path, command: list[str], says: str
) -> None:
    voices = voices_with(tmp_path, v=command)
    with pytest.raises(TtsError) as caught:
        voices.render("Анна Петрова, долг 500", "v")
    assert str(caught.value).startswith(says)
    assert "Анна" not in str(caught.value)
    assert not any(p.suffix == ".wav" for p in (tmp_path / "cache").iterdir())


def test_a_slow_voice_times_out(tmp_path: Path) -> None:
    settings = TtsSettings(
        cache_dir=tmp_path,
        voices={"slow": VoiceSettings(command=[sys.executable, "-c", "import time; time.sleep(5)",
                                               "{out}"], timeout="200ms")},  # type: ignore[arg-type]
    )  # fmt: skip
    with pytest.raises(TtsError, match="took longer than 200ms"):
        TtsVoices(settings, "ru").render("x", "slow")


def test_an_unknown_voice(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="no voice named 'irina'"):
        TtsVoices(TtsSettings(cache_dir=tmp_path), "ru").render("x", "irina")


def test_personal_audio_is_swept_after_keep_personal_and_static_audio_stays(
    tmp_path: Path,
) -> None:
    settings = TtsSettings(cache_dir=tmp_path, keep_personal="1h")  # type: ignore[arg-type]
    voices = TtsVoices(settings, "ru")
    static = Path(voices.render("Добрый день", None) + ".wav")
    old = Path(voices.render("Анна, долг пятьсот рублей", None, personal=True) + ".wav")
    used = Path(voices.render("Борис, долг два рубля", None, personal=True) + ".wav")
    assert old.name.startswith("p-") and not static.name.startswith("p-")
    two_hours_ago = time.time() - 7200
    for path in (static, old, used):
        os.utime(path, (two_hours_ago, two_hours_ago))
    # Played again: its hour starts over.
    assert voices.render("Борис, долг два рубля", None, personal=True) == str(used)[:-4]
    assert voices.sweep() == [old]
    assert static.exists() and used.exists() and not old.exists()


def test_espeak_says_hostile_text_as_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    voices = TtsVoices(TtsSettings(cache_dir=tmp_path / "cache"), "ru")
    for text in (HOSTILE, "[[h@l'oU]] <speak>x</speak> & | > PWNED3", "-", "--help"):
        assert wav_params(voices.render(text, None))[:3] == (8000, 1, 2)
    assert not any(p.name.startswith("PWNED") for p in tmp_path.iterdir())
