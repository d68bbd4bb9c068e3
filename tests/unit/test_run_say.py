"""Say texts on a call, against the in-memory channel: filled per contact, rendered while
the prompts before them play, skipped when a field cannot be said (and only the field's
name logged), a caller hanging up while a text renders."""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass, field

import pytest

from ivr.run_result import EndedBy
from tests.unit.test_interpreter import CALL, FakeChannel, run, script_of

SAY = """\
ivr:
  start: a
  steps:
    a:
      kind: play
      say:
        - prompt: intro
        - text: "Здравствуйте, {name}! Ваш долг {Amount Due:money}."
        - prompt: outro
        - text: "До свидания."
      next: b
    b: {kind: hangup}
"""


@dataclass
class FakeVoices:
    """Voices in memory: a personal text renders only when `ready` is set."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    spoken: list[tuple[str, str | None, bool]] = field(default_factory=list)
    channel: FakeChannel | None = None
    seen_when_rendered: list[list[str]] = field(default_factory=list)

    async def speak(self, text: str, voice: str | None, personal: bool = False) -> str:
        self.spoken.append((text, voice, personal))
        number = len(self.spoken)
        if personal:
            await self.ready.wait()
            if self.channel is not None:
                self.seen_when_rendered.append(self.channel.played())
        return f"/tts/{'p-' if personal else ''}{number}"


async def test_texts_are_filled_and_render_while_the_intro_plays() -> None:
    channel = FakeChannel()
    voices = FakeVoices(channel=channel)
    asyncio.get_running_loop().call_later(0.05, voices.ready.set)
    result = await run(script_of(SAY), channel, voices=voices)
    assert result.ended_by is EndedBy.HANGUP
    assert voices.spoken == [
        ("Здравствуйте, Ivan Petrov! Ваш долг одна тысяча пятьсот рублей семьдесят пять "
         "копеек.", None, True),
        ("До свидания.", None, False),
    ]  # fmt: skip
    assert voices.seen_when_rendered == [["intro"]]  # the intro played meanwhile
    assert channel.played() == ["intro", "/tts/p-1", "outro", "/tts/2"]


async def test_a_field_that_cannot_be_said_skips_its_text_and_logs_only_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = CALL.__class__(**{**CALL.__dict__, "fields": {"Amount Due": "много"}})
    channel, voices = FakeChannel(), FakeVoices()
    voices.ready.set()
    caplog.set_level(logging.INFO)
    result = await run(script_of(SAY), channel, call=call, voices=voices)
    assert result.ended_by is EndedBy.HANGUP
    assert channel.played() == ["intro", "outro", "/tts/1"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "field 'Amount Due': not a number (as money)" in logged
    assert "много" not in logged and "Ivan" not in logged


async def test_without_voices_the_script_ends_with_a_clear_error() -> None:
    result = await run(script_of(SAY), FakeChannel())
    assert result.ended_by is EndedBy.ERROR
    assert result.error == "a say text needs a text-to-speech voice, and none is set up"


async def test_a_caller_hanging_up_while_a_text_renders_ends_cleanly() -> None:
    channel, voices = FakeChannel(hang_up_at=1), FakeVoices()  # gone during the intro
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = await run(script_of(SAY), channel, voices=voices)
        await asyncio.sleep(0)
    assert result.ended_by is EndedBy.CALLER_HANGUP
    assert not voices.ready.is_set()  # nobody waits for the render any more


MENU = """\
ivr:
  start: m
  steps:
    m:
      kind: menu
      prompt_text: "{name}, ваш долг {Amount Due:money}. Нажмите 1, чтобы поговорить с нами."
      prompt: fallback-question
      keys: {"1": b}
      retries: 1
    b: {kind: hangup}
"""


async def test_a_menu_asks_with_its_text_on_every_try() -> None:
    channel, voices = FakeChannel(keys=["", "1"]), FakeVoices()
    voices.ready.set()
    result = await run(script_of(MENU), channel, voices=voices)
    assert result.answers["m"] == {"keys": "1", "tries": 2}
    reads = [entry[1] for entry in channel.log if entry[0] == "read"]
    assert reads == ["/tts/p-1", "/tts/p-1"] and len(voices.spoken) == 1  # rendered once
    assert voices.spoken[0][0].startswith("Ivan Petrov, ваш долг одна тысяча пятьсот рублей")


async def test_a_menu_text_that_cannot_be_said_falls_back_to_its_prompt() -> None:
    call = CALL.__class__(**{**CALL.__dict__, "fields": {}})
    channel, voices = FakeChannel(keys=["1"]), FakeVoices()
    result = await run(script_of(MENU), channel, call=call, voices=voices)
    assert [entry[1] for entry in channel.log if entry[0] == "read"] == ["fallback-question"]
    assert result.ended_by is EndedBy.HANGUP
    without = script_of(MENU.replace("      prompt: fallback-question\n", ""))
    failed = await run(without, FakeChannel(), call=call, voices=voices)
    assert failed.ended_by is EndedBy.ERROR
    assert failed.error == (
        "the step's prompt_text cannot be said for this contact, and it has no prompt"
    )
