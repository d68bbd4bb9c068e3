"""ivr.prompts against real files: espeak-ng speech encoded to mp3/ogg/wav by ffmpeg and
sox, decoded by pydub (ffmpeg), checked with the stdlib `wave` module."""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from ivr.prompts import PromptError, prepare_prompts

NAME = re.compile(r"dialer/[0-9a-f]{16}")


def run(*cmd: str) -> None:
    tool = shutil.which(cmd[0])
    assert tool, f"{cmd[0]} is not installed: run scripts/setup --test (apt-get install {cmd[0]})"
    subprocess.run([tool, *cmd[1:]], check=True, capture_output=True)


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("prompts")
    speech = d / "hello.wav"  # espeak-ng writes 22050 Hz mono 16-bit
    run("espeak-ng", "-v", "ru", "-w", str(speech), "Здравствуйте, это тестовое сообщение")
    files = {"wav22k": speech}
    files["mp3"] = d / "hello.mp3"
    run("ffmpeg", "-v", "error", "-i", str(speech), "-ar", "44100", "-ac", "2", str(files["mp3"]))
    files["ogg"] = d / "hello.ogg"
    run(
        "ffmpeg",
        "-v",
        "error",
        "-i",
        str(speech),
        "-ar",
        "48000",
        "-c:a",
        "libvorbis",
        str(files["ogg"]),
    )
    files["wav8k"] = d / "hello-8k.wav"
    run("sox", str(speech), "-r", "8000", "-c", "1", "-b", "16", str(files["wav8k"]))
    files["stereo_wav"] = d / "stereo.wav"
    run("sox", str(speech), "-r", "16000", "-c", "2", "-b", "24", str(files["stereo_wav"]))
    return files


def duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def assert_asterisk_wav(path: Path) -> None:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getcomptype() == "NONE"
        assert w.getnframes() > 8000  # the sentence lasts well over a second


@pytest.mark.parametrize("kind", ["mp3", "ogg", "wav22k", "wav8k", "stereo_wav"])
def test_given_prompt_file_when_prepared_then_8khz_mono_16bit_wav_by_content_hash(
    sources: dict[str, Path], tmp_path: Path, kind: str
):
    source = sources[kind]

    names = prepare_prompts([source], tmp_path)

    name = names[source]
    assert NAME.fullmatch(name), name
    target = tmp_path / f"{name}.wav"
    assert_asterisk_wav(target)
    # Same speech, so the same length whatever the container (codec padding aside).
    assert duration(target) == pytest.approx(duration(sources["wav22k"]), abs=0.1)


def test_given_8khz_pcm_wav_when_prepared_then_samples_kept_as_they_are(
    sources: dict[str, Path], tmp_path: Path
):
    name = prepare_prompts([sources["wav8k"]], tmp_path)[sources["wav8k"]]

    with wave.open(str(sources["wav8k"]), "rb") as a, wave.open(str(tmp_path / f"{name}.wav")) as b:
        assert a.readframes(a.getnframes()) == b.readframes(b.getnframes())


def test_given_prepared_prompt_when_prepared_again_then_cached(
    sources: dict[str, Path], tmp_path: Path
):
    source = sources["mp3"]
    first = prepare_prompts([source], tmp_path)[source]
    target = tmp_path / f"{first}.wav"
    mtime = target.stat().st_mtime_ns

    again = prepare_prompts([source], tmp_path)[source]

    assert again == first
    assert target.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in (tmp_path / "dialer").iterdir()) == [target.name]


def test_given_same_content_under_two_names_then_one_converted_file(
    sources: dict[str, Path], tmp_path: Path
):
    copy = tmp_path / "copy-of-hello.ogg"
    shutil.copyfile(sources["ogg"], copy)
    sounds = tmp_path / "sounds"

    names = prepare_prompts([sources["ogg"], copy, sources["ogg"]], sounds)

    assert names == {sources["ogg"]: names[copy], copy: names[copy]}
    assert len(list((sounds / "dialer").iterdir())) == 1


def test_given_different_content_then_different_names(sources: dict[str, Path], tmp_path: Path):
    names = prepare_prompts([sources["mp3"], sources["ogg"], sources["wav8k"]], tmp_path)

    assert len(set(names.values())) == 3


def test_given_missing_file_then_prompt_error_names_it(tmp_path: Path):
    missing = tmp_path / "no-such-prompt.mp3"

    with pytest.raises(PromptError) as err:
        prepare_prompts([missing], tmp_path / "sounds")

    assert err.value.path == missing
    assert str(missing) in str(err.value)
    assert "not found" in str(err.value)


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("garbage.mp3", bytes(range(256)) * 20),
        ("truncated.wav", b"RIFF\x24\x00\x00\x00WAVEfmt "),
        ("empty.ogg", b""),
        ("notes.wav", "это не звук, а текст".encode() * 50),
    ],
)
def test_given_broken_file_then_prompt_error_with_reason(
    tmp_path: Path, filename: str, content: bytes
):
    broken = tmp_path / filename
    broken.write_bytes(content)
    sounds = tmp_path / "sounds"

    with pytest.raises(PromptError) as err:
        prepare_prompts([broken], sounds)

    assert err.value.path == broken
    assert "not a playable audio file" in str(err.value)
    assert "ffmpeg version" not in str(err.value)  # the reason, not ffmpeg's banner
    assert not any(sounds.rglob("*.wav"))  # nothing half-written is left to be cached


def test_given_directory_instead_of_file_then_prompt_error(tmp_path: Path):
    with pytest.raises(PromptError, match="not a file"):
        prepare_prompts([tmp_path], tmp_path / "sounds")


def test_given_broken_file_among_good_then_error_names_the_broken_one(
    sources: dict[str, Path], tmp_path: Path
):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + b"\x00" * 100)

    with pytest.raises(PromptError) as err:
        prepare_prompts([sources["mp3"], broken], tmp_path / "sounds")

    assert err.value.path == broken
