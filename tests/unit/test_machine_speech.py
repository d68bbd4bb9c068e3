"""Human or machine from the first words: the decision table, the beep and speech
measure on synthesised audio, and the campaign file's checks."""

from __future__ import annotations

import math
import random
import struct

import pytest

from ivr.greeting_audio import analyse_greeting
from ivr.machine_speech import Heard, MachineSpeechSettings, Verdict, decide
from tests.unit.test_ivr_script import only

DEFAULT = MachineSpeechSettings()


@pytest.mark.parametrize(
    ("heard", "language", "verdict", "reason"),
    [
        (Heard("алло", 400, None), "ru", Verdict.HUMAN, "1 words, 0.4s of speech"),
        (Heard("да слушаю", 900, None), "ru", Verdict.HUMAN, "2 words, 0.9s of speech"),
        (Heard("", 0, None, spoke=False), "ru", Verdict.UNSURE, "nothing said"),
        (Heard("", 0, None), "ru", Verdict.UNSURE, "nothing said"),
        (Heard("алло", 500, 1000.0), "ru", Verdict.MACHINE, "beep at 1000 Hz"),
        (
            Heard("здравствуйте оставьте сообщение", 2000, None),
            "ru",
            Verdict.MACHINE,
            "phrase 'оставьте сообщение'",
        ),
        (
            Heard("Абонент недоступен.", 1500, None),
            "ru",
            Verdict.MACHINE,
            "phrase 'абонент недоступен'",
        ),
        (
            Heard("please leave a message", 1500, None),
            "en",
            Verdict.MACHINE,
            "phrase 'leave a message'",
        ),
        (
            Heard("вы позвонили в компанию ромашка мы работаем с девяти", 2500, None),
            "ru",
            Verdict.MACHINE,
            "9 words (more than 5)",
        ),
        (Heard("ммм", 3500, None), "ru", Verdict.MACHINE, "3.5s of speech (more than 3s)"),
        # A phrase of another language's list does not count; words inside others don't.
        (Heard("leave a message", 900, None), "ru", Verdict.HUMAN, "3 words, 0.9s of speech"),
        (Heard("автоответчики", 900, None), "ru", Verdict.HUMAN, "1 words, 0.9s of speech"),
    ],
)
def test_the_decision_and_its_reason(
    heard: Heard, language: str, verdict: Verdict, reason: str
) -> None:
    decision = decide(heard, DEFAULT, language)
    assert (decision.verdict, decision.reason) == (verdict, reason)


def test_settings_change_the_rule() -> None:
    custom = MachineSpeechSettings(
        max_words=1,
        beep=False,
        phrases={"ru": ["ромашка"]},
        max_speech="10s",  # type: ignore[arg-type]
    )
    assert decide(Heard("да да", 500, 1000.0), custom, "ru").reason == "2 words (more than 1)"
    assert decide(Heard("ромашка", 500, None), custom, "ru").reason == "phrase 'ромашка'"
    assert decide(Heard("оставьте сообщение", 500, None), custom, "ru").verdict is Verdict.MACHINE
    assert decide(Heard("алло", 5000, None), custom, "ru").verdict is Verdict.HUMAN


def tone(hz: float, seconds: float, amplitude: int = 12000) -> list[int]:
    return [
        int(amplitude * math.sin(2 * math.pi * hz * i / 8000)) for i in range(int(8000 * seconds))
    ]


def noise(seconds: float, amplitude: int = 6000, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(-amplitude, amplitude) for _ in range(int(8000 * seconds))]


def vowel(seconds: float) -> list[int]:
    """A voiced sound: a 140 Hz pitch with its harmonics, like a held 'а'."""
    return [
        int(sum(3000 / k * math.sin(2 * math.pi * 140 * k * i / 8000 + k) for k in range(1, 12)))
        for i in range(int(8000 * seconds))
    ]


def pcm(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


@pytest.mark.parametrize("hz", [425.0, 440.0, 1000.0, 1400.0, 2000.0])
def test_a_beep_is_heard_at_its_frequency_and_time(hz: float) -> None:
    heard = analyse_greeting(pcm(vowel(1.0) + [0] * 800 + tone(hz, 0.3)))
    assert heard.beep_hz is not None and abs(heard.beep_hz - hz) < 2
    assert heard.beep_at_ms is not None and 1080 <= heard.beep_at_ms <= 1120
    assert 960 <= heard.voiced_ms <= 1040  # the vowel, not the beep


@pytest.mark.parametrize(
    "samples",
    [
        pytest.param(vowel(2.0), id="voice"),
        pytest.param(noise(2.0), id="noise"),
        pytest.param(tone(1000, 0.06), id="a 60 ms click"),
        pytest.param(tone(100, 1.0), id="hum below 300 Hz"),
        pytest.param(tone(1000, 1.0, amplitude=100), id="too quiet"),
    ],
)
def test_what_is_not_a_beep(samples: list[int]) -> None:
    assert analyse_greeting(pcm(samples)).beep_hz is None


def test_silence_is_no_speech() -> None:
    assert analyse_greeting(pcm([0] * 16000 + noise(1.0, amplitude=50))).voiced_ms == 0


HEAD_STEPS = "  start: a\n  steps:\n    a: {kind: hangup}\n"


def test_machine_speech_needs_speech() -> None:
    assert only("ivr:\n  machine_speech: {act: true}\n" + HEAD_STEPS) == (
        "campaign.yaml:10:3: ivr.machine_speech: machine_speech recognises the first words: "
        "add ivr.speech with model_dir"
    )


def test_on_machine_names_a_step_and_what_it_leads_to_is_reached() -> None:
    speech = "  speech: {model_dir: /m}\n"
    assert only(
        "ivr:\n" + speech + "  machine_speech: {act: true, on_machine: vn}\n" + HEAD_STEPS
    ).endswith("ivr.machine_speech.on_machine: no step named 'vn'; steps are: a")
    # vm and what follows it are reached only from on_machine: no "never reached" error.
    steps = HEAD_STEPS + "    vm: {kind: play, prompts: beep, next: a}\n"
    from dialer.campaign.loader import parse_campaign
    from tests.unit.test_ivr_script import HEAD

    text = HEAD + "ivr:\n" + speech + "  machine_speech: {act: true, on_machine: vm}\n" + steps
    assert parse_campaign(text).ivr is not None


# --- on a call (in-memory channel and recogniser) ----------------------------------------

MACHINE_SCRIPT = """\
ivr:
  speech: {model_dir: /m, record_dir: /rec}
  machine_speech: {act: ACT, on_machine: vm}
  start: hello
  steps:
    hello: {kind: play, prompts: hello, next: bye}
    vm: {kind: play, prompts: vm-message, next: bye}
    bye: {kind: hangup}
"""


@pytest.mark.parametrize("act", [True, False])
async def test_a_machine_gets_on_machine_only_when_acted_on(act: bool) -> None:
    from ivr.recognition import Recognition
    from tests.unit.test_interpreter import FakeChannel, FakeRecognizer, run, script_of

    channel = FakeChannel()
    channel.set_vars["AMDSTATUS"] = "HUMAN"
    channel.set_vars["AMDCAUSE"] = "HUMAN-1-1"
    heard = FakeRecognizer([Recognition("здравствуйте оставьте сообщение", 0.9)])
    script = script_of(MACHINE_SCRIPT.replace("ACT", str(act).lower()))
    result = await run(script, channel, heard)
    assert result.steps == (["vm", "bye"] if act else ["hello", "bye"])
    assert result.machine is not None
    assert {k: result.machine[k] for k in ("amd", "amd_cause", "speech", "reason", "acted")} == {
        "amd": "HUMAN",
        "amd_cause": "HUMAN-1-1",
        "speech": "machine",
        "reason": "phrase 'оставьте сообщение'",
        "acted": act,
    }
    assert heard.calls[0][1] == ()  # recognised freely: no grammar
    assert str(heard.calls[0][0]).endswith("-first-words-0.wav")
    assert result.as_json()["machine"]["speech"] == "machine"


async def test_a_callee_who_hangs_up_while_greeting_still_gets_a_verdict() -> None:
    from ivr.recognition import Recognition
    from ivr.run_result import EndedBy
    from tests.unit.test_interpreter import FakeChannel, FakeRecognizer, run, script_of

    channel = FakeChannel(record_endings=["hangup"], hang_up_at=2)  # gone after the record
    heard = FakeRecognizer([Recognition("алло", 0.9)])
    result = await run(script_of(MACHINE_SCRIPT.replace("ACT", "true")), channel, heard)
    assert result.ended_by is EndedBy.CALLER_HANGUP
    assert result.machine is not None and result.machine["speech"] == "human"
    assert result.machine["amd"] is None
