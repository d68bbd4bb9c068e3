"""The IVR interpreter against an in-memory CallChannel: every step kind, retries,
timeouts, speech, callbacks in the contact's time zone, transfer variables, and a
caller hanging up at any moment."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.loader import parse_campaign
from ivr.channel import CallerHungUp, ChannelError, PlayResult, RecordResult
from ivr.interpreter import MAX_STEPS, run_script
from ivr.recognition import Recognition
from ivr.run_result import EndedBy, IvrResult, answers_summary
from ivr.run_state import CallContext
from ivr.script import IvrScript

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday; 15:00 in Moscow
HEAD = """\
name: t
list: spring
ami:
  secret_env: DIALER_AMI_SECRET
dial:
  channel: Local/{number}@dialer-test-callees
on_answer:
  action: ivr
"""
SPEECH = """\
  speech:
    model_dir: /models/ru
    record_dir: /rec
    confidence: 0.6
"""


def script_of(ivr: str) -> IvrScript:
    """A script as a campaign file gives it: YAML text, validated and checked."""
    campaign = parse_campaign(HEAD + ivr)
    assert campaign.ivr is not None
    return campaign.ivr


def example(name: str) -> IvrScript:
    campaign = parse_campaign((EXAMPLES / name).read_text(encoding="utf-8"), name)
    assert campaign.ivr is not None
    return campaign.ivr


# --- fakes --------------------------------------------------------------------------------


@dataclass
class FakeChannel:
    """A CallChannel in memory: scripted keys and recordings, a caller who may hang up.

    keys: what the caller types for each read_digits, as typed ("7#", "10", "" = nothing).
    hang_up_at: the caller hangs up during the n-th channel command (1-based): that
    command and every later one raise CallerHungUp, as over FastAGI.
    """

    keys: list[str] = field(default_factory=list)
    record_endings: list[str] = field(default_factory=list)  # default "silence"
    hang_up_at: int | None = None
    fail_at: int | None = None  # the n-th command gets a ChannelError
    log: list[tuple[Any, ...]] = field(default_factory=list)
    set_vars: dict[str, str] = field(default_factory=dict)
    commands: int = 0
    gone: bool = False

    @property
    def variables(self) -> dict[str, str]:
        return {"network_script": "ivr", "channel": "Local/+79990000001@test-0001;2"}

    def _command(self, *entry: Any) -> None:
        if self.gone:
            raise CallerHungUp
        self.commands += 1
        if self.hang_up_at is not None and self.commands >= self.hang_up_at:
            self.gone = True
            raise CallerHungUp
        if self.fail_at == self.commands:
            raise ChannelError("510 Invalid or unknown command")
        self.log.append(entry)

    async def play(self, prompts: Sequence[str], interrupt_keys: str = "") -> PlayResult:
        self._command("play", *prompts)
        return PlayResult()

    async def say_number(self, number: int, interrupt_keys: str = "") -> PlayResult:
        self._command("say_number", number)
        return PlayResult()

    async def say_digits(self, digits: str, interrupt_keys: str = "") -> PlayResult:
        self._command("say_digits", digits)
        return PlayResult()

    async def read_digits(self, prompt: str | None, timeout_ms: int, max_digits: int) -> str:
        self._command("read", prompt, timeout_ms, max_digits)
        typed = self.keys.pop(0) if self.keys else ""
        got = ""
        for key in typed:  # like GET DATA: '#' ends the entry, max_digits ends it too
            if key == "#" or len(got) == max_digits:
                break
            got += key
        return got

    async def record(
        self,
        path: Path,
        max_ms: int,
        silence_s: int,
        beep: bool = False,
        start_ms: int | None = None,
    ) -> RecordResult:
        self._command("record", str(path), max_ms, silence_s)
        ended = self.record_endings.pop(0) if self.record_endings else "silence"
        return RecordResult(Path(f"{path}.wav"), ended, 1500)

    async def get_variable(self, name: str) -> str | None:
        self._command("get", name)
        return self.set_vars.get(name)

    async def set_variable(self, name: str, value: str) -> None:
        self._command("set", name, value)
        self.set_vars[name] = value

    async def hangup(self) -> None:
        self._command("hangup")
        self.gone = True

    def played(self) -> list[str]:
        return [p for entry in self.log if entry[0] == "play" for p in entry[1:]]


@dataclass
class FakeRecognizer:
    heard: list[Recognition] = field(default_factory=list)
    calls: list[tuple[Path, tuple[str, ...], str]] = field(default_factory=list)

    async def recognize(self, wav: Path, phrases: Sequence[str], language: str) -> Recognition:
        self.calls.append((wav, tuple(phrases), language))
        return self.heard.pop(0) if self.heard else Recognition("", 0.0)


CALL = CallContext(
    attempt_id="a-17",
    number="+79990000001",
    campaign="t",
    name="Ivan Petrov",
    fields={"Amount Due": "1 500,75", "contract": "No. 12-34"},
    timezone="Europe/Moscow",
)


async def run(
    script: IvrScript,
    channel: FakeChannel,
    recognizer: FakeRecognizer | None = None,
    call: CallContext = CALL,
    **options: Any,
) -> IvrResult:
    return await run_script(script, channel, call, recognizer, lambda: NOW, **options)


# --- play ---------------------------------------------------------------------------------

PLAY = """\
ivr:
  start: greeting
  steps:
    greeting:
      kind: play
      prompts: [dialer/hello, dialer/you-owe]
      say:
        - number: amount_due
        - prompt: dialer/roubles
        - prompt: dialer/contract
        - digits: contract
        - number: no_such_field
      next: bye
    bye: {kind: hangup, prompt: dialer/goodbye}
"""


async def test_given_play_step_when_run_then_prompts_and_contact_fields_are_said_in_order() -> None:
    channel = FakeChannel()

    result = await run(script_of(PLAY), channel)

    assert channel.log == [
        ("play", "dialer/hello", "dialer/you-owe"),
        ("say_number", 1500),  # "Amount Due" matches amount_due; SayNumber says whole units
        ("play", "dialer/roubles", "dialer/contract"),
        ("say_digits", "1234"),
        ("play", "dialer/goodbye"),
        ("hangup",),
    ]
    assert result.steps == ["greeting", "bye"]
    assert result.ended_by is EndedBy.HANGUP


# --- menu ---------------------------------------------------------------------------------

MENU = """\
ivr:
  start: offer
  steps:
    offer:
      kind: menu
      prompt: dialer/press-1-or-2
      keys: {"1": hot, "2": cold, "9": stop}
      timeout: 4s
      retries: 2
      invalid_prompt: dialer/invalid
      on_timeout: bye
    hot: {kind: set, temperature: hot, next: bye}
    cold: {kind: set, temperature: cold, next: bye}
    stop: {kind: optout, confirm_prompt: dialer/optout-ok}
    bye: {kind: hangup, prompt: dialer/goodbye}
"""


async def test_given_menu_when_valid_key_then_its_step_follows() -> None:
    channel = FakeChannel(keys=["1"])

    result = await run(script_of(MENU), channel)

    assert channel.log[0] == ("read", "dialer/press-1-or-2", 4000, 1)
    assert result.answers["offer"] == {"keys": "1", "tries": 1}
    assert result.temperature == "hot"
    assert result.steps == ["offer", "hot", "bye"]


async def test_given_menu_when_wrong_key_then_invalid_prompt_and_asked_again() -> None:
    channel = FakeChannel(keys=["5", "2"])

    result = await run(script_of(MENU), channel)

    assert [e[0] for e in channel.log[:3]] == ["read", "play", "read"]
    assert channel.log[1] == ("play", "dialer/invalid")
    assert result.answers["offer"] == {"keys": "2", "tries": 2}
    assert result.temperature == "cold"


async def test_given_menu_when_no_key_through_all_retries_then_on_timeout() -> None:
    channel = FakeChannel(keys=["", "", ""])

    result = await run(script_of(MENU), channel)

    reads = [e for e in channel.log if e[0] == "read"]
    assert len(reads) == 3  # the first try and two retries
    assert "dialer/invalid" not in channel.played()  # silence is not a wrong key
    assert result.answers["offer"] == {"keys": "", "tries": 3, "matched": False}
    assert result.steps == ["offer", "bye"]
    assert result.ended_by is EndedBy.HANGUP


async def test_given_menu_when_wrong_keys_use_up_retries_then_invalid_prompt_only_between() -> None:
    channel = FakeChannel(keys=["7", "8", "0"])

    result = await run(script_of(MENU), channel)

    assert channel.played().count("dialer/invalid") == 2  # not before leaving for on_timeout
    assert result.answers["offer"]["keys"] == "0"
    assert result.steps[-1] == "bye"


async def test_given_menu_without_on_timeout_when_retries_used_up_then_call_ends() -> None:
    script = script_of(
        "ivr:\n  start: m\n  steps:\n"
        "    m: {kind: menu, prompt: p, keys: {'1': b}, retries: 0}\n"
        "    b: {kind: hangup}\n"
    )
    channel = FakeChannel(keys=[""])

    result = await run(script, channel)

    assert result.ended_by is EndedBy.HANGUP
    assert channel.log[-1] == ("hangup",)
    assert result.steps == ["m"]


async def test_given_multi_digit_menu_when_digits_end_with_hash_then_number_is_the_key() -> None:
    script = script_of(
        "ivr:\n  start: m\n  steps:\n"
        "    m: {kind: menu, prompt: p, max_digits: 3, keys: {'42': b, '7': c}}\n"
        "    b: {kind: set, disposition: branch_42, next: c}\n"
        "    c: {kind: hangup}\n"
    )
    channel = FakeChannel(keys=["42#"])

    result = await run(script, channel)

    assert channel.log[0] == ("read", "p", 5000, 3)
    assert result.answers["m"]["keys"] == "42"
    assert result.disposition == "branch_42"


# --- ask ------------------------------------------------------------------------------------

ASK = (
    """\
ivr:
  language: ru
"""
    + SPEECH
    + """\
  start: q
  steps:
    q:
      kind: ask
      prompt: dialer/question
      intents:
        yes: {next: hot, phrases: {ru: [да, конечно], en: ["yes"]}}
        no: {next: cold, phrases: {ru: [нет, не интересно], en: ["no"]}}
        stop: {next: stop, phrases: {ru: [не звоните], en: [stop calling]}}
      timeout: 6s
      retries: 1
      no_match_prompt: dialer/sorry
      on_no_match: bye
    hot: {kind: set, temperature: hot, next: bye}
    cold: {kind: set, temperature: cold, next: bye}
    stop: {kind: optout}
    bye: {kind: hangup}
"""
)


async def test_given_ask_when_answer_matches_then_intent_and_transcript_are_kept() -> None:
    channel = FakeChannel()
    recognizer = FakeRecognizer([Recognition("да конечно", 0.93)])

    result = await run(script_of(ASK), channel, recognizer)

    assert channel.log[:2] == [
        ("play", "dialer/question"),
        ("record", "/rec/a-17-q-1", 6000, 2),
    ]
    wav, phrases, language = recognizer.calls[0]
    assert wav == Path("/rec/a-17-q-1.wav")
    assert set(phrases) == {"да", "конечно", "нет", "не интересно", "не звоните"}
    assert language == "ru"
    assert result.answers["q"] == {
        "transcript": "да конечно",
        "intent": "yes",
        "confidence": 0.93,
        "recording": "/rec/a-17-q-1.wav",
        "tries": 1,
    }
    assert result.temperature == "hot"


async def test_given_ask_when_no_match_then_sorry_prompt_and_second_recording() -> None:
    channel = FakeChannel()
    recognizer = FakeRecognizer([Recognition("алло кто это", 0.9), Recognition("нет", 0.8)])

    result = await run(script_of(ASK), channel, recognizer)

    assert [e[0:2] for e in channel.log[:5]] == [
        ("play", "dialer/question"),
        ("record", "/rec/a-17-q-1"),
        ("play", "dialer/sorry"),
        ("play", "dialer/question"),
        ("record", "/rec/a-17-q-2"),
    ]
    assert result.answers["q"]["intent"] == "no"
    assert result.answers["q"]["tries"] == 2
    assert result.temperature == "cold"


async def test_given_ask_when_confidence_below_threshold_every_time_then_on_no_match() -> None:
    channel = FakeChannel()
    recognizer = FakeRecognizer([Recognition("да", 0.3), Recognition("", 0.0)])

    result = await run(script_of(ASK), channel, recognizer)

    assert result.answers["q"]["intent"] is None
    assert result.steps == ["q", "bye"]
    assert channel.played().count("dialer/sorry") == 1  # only between the two tries


async def test_given_ask_when_caller_says_stop_and_hangs_up_then_optout_still_counts() -> None:
    channel = FakeChannel(record_endings=["hangup"])
    recognizer = FakeRecognizer([Recognition("не звоните мне", 0.9)])
    opted_out: list[str] = []

    async def optout(call: CallContext) -> None:
        opted_out.append(call.number)

    result = await run(script_of(ASK), channel, recognizer, on_optout=optout)

    assert result.ended_by is EndedBy.CALLER_HANGUP
    assert result.optout is True
    assert opted_out == ["+79990000001"]
    assert result.answers["q"]["intent"] == "stop"


async def test_given_ask_when_caller_says_yes_and_hangs_up_then_the_lead_is_hot() -> None:
    channel = FakeChannel(record_endings=["hangup"])
    recognizer = FakeRecognizer([Recognition("да", 0.9)])

    result = await run(script_of(ASK), channel, recognizer)

    assert result.ended_by is EndedBy.CALLER_HANGUP
    assert result.temperature == "hot"  # the set step ran; the goodbye did not play
    assert result.steps == ["q", "hot"]
    assert channel.played() == ["dialer/question"]


async def test_given_ask_when_no_recognizer_then_error_result_not_exception() -> None:
    channel = FakeChannel()

    result = await run(script_of(ASK), channel, recognizer=None)

    assert result.ended_by is EndedBy.ERROR
    assert "speech recognition" in (result.error or "")
    assert channel.log[-1] == ("hangup",)


async def test_given_recognizer_that_fails_then_error_result_keeps_earlier_answers() -> None:
    script = script_of(
        "ivr:\n" + SPEECH + "  start: m\n  steps:\n"
        "    m: {kind: menu, prompt: p, keys: {'1': q}}\n"
        "    q: {kind: ask, prompt: p, intents: {yes: {next: b, phrases: {ru: [да]}}}}\n"
        "    b: {kind: hangup}\n"
    )

    class Broken:
        async def recognize(self, wav: Path, phrases: Sequence[str], language: str) -> Any:
            raise RuntimeError("model directory is empty")

    result = await run_script(script, FakeChannel(keys=["1"]), CALL, Broken(), lambda: NOW)

    assert result.ended_by is EndedBy.ERROR
    assert result.error == "RuntimeError: model directory is empty"
    assert result.answers["m"]["keys"] == "1"


# --- survey ---------------------------------------------------------------------------------

SURVEY = (
    "ivr:\n"
    + SPEECH
    + """\
  start: nps
  steps:
    nps:
      kind: survey
      question: nps
      prompt: dialer/nps
      min: 0
      max: 10
      retries: 1
      invalid_prompt: dialer/score-0-to-10
      next: how
    how:
      kind: survey
      question: satisfaction
      input: speech
      prompt: dialer/how
      choices:
        good: {ru: [хорошо, отлично]}
        bad: {ru: [плохо, не очень]}
      next: bye
    bye: {kind: hangup}
"""
)


@pytest.mark.parametrize(
    ("typed", "score"),
    [(["10"], 10), (["7#"], 7), (["0#"], 0), (["11", "9#"], 9), (["", "3"], 3)],
)
async def test_given_nps_question_when_score_typed_then_it_is_stored(
    typed: list[str], score: int
) -> None:
    channel = FakeChannel(keys=typed)
    recognizer = FakeRecognizer([Recognition("отлично", 0.9)])

    result = await run(script_of(SURVEY), channel, recognizer)

    assert channel.log[0] == ("read", "dialer/nps", 5000, 2)  # two digits: 10 is a score
    assert result.survey == {"nps": score, "satisfaction": "good"}
    assert result.answers["nps"]["score"] == score


async def test_given_nps_question_when_never_valid_then_unanswered_and_survey_goes_on() -> None:
    channel = FakeChannel(keys=["12", "99"])
    recognizer = FakeRecognizer([Recognition("не очень", 0.9)])

    result = await run(script_of(SURVEY), channel, recognizer)

    assert "nps" not in result.survey
    assert result.answers["nps"] == {"keys": "99", "score": None, "tries": 2}
    assert channel.played().count("dialer/score-0-to-10") == 1
    assert result.survey == {"satisfaction": "bad"}  # "не очень" beats nothing; not "хорошо"
    assert result.steps == ["nps", "how", "bye"]


# --- set and callbacks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("callback", "timezone", "expected"),
    [
        ("tomorrow 10:00", "Europe/Moscow", datetime(2026, 3, 11, 7, 0, tzinfo=UTC)),
        ("tomorrow 10:00", None, datetime(2026, 3, 11, 10, 0, tzinfo=UTC)),
        ("today 18:30", "Europe/Moscow", datetime(2026, 3, 10, 15, 30, tzinfo=UTC)),
        ("in 2h", "Europe/Moscow", datetime(2026, 3, 10, 14, 0, tzinfo=UTC)),
        ("in 2h", None, datetime(2026, 3, 10, 14, 0, tzinfo=UTC)),
        ("tomorrow 10:00", "Not/A_Zone", datetime(2026, 3, 11, 10, 0, tzinfo=UTC)),
    ],
)
async def test_given_set_with_callback_then_time_is_in_the_contacts_zone(
    callback: str, timezone: str | None, expected: datetime
) -> None:
    script = script_of(
        "ivr:\n  start: s\n  steps:\n"
        f"    s: {{kind: set, temperature: warm, disposition: later, callback: {callback},"
        " fields: {interest: gold, note: 'a=b;c'}, next: b}\n"
        "    b: {kind: hangup}\n"
    )
    call = CallContext("a-1", "+79990000001", "t", timezone=timezone)

    result = await run(script, FakeChannel(), call=call)

    assert result.callback_at == expected
    assert result.temperature == "warm"
    assert result.disposition == "later"
    assert result.fields == {"interest": "gold", "note": "a=b;c"}


async def test_given_callback_already_past_today_then_no_callback_is_set() -> None:
    script = script_of(
        "ivr:\n  start: s\n  steps:\n"
        "    s: {kind: set, callback: today 09:00, next: b}\n    b: {kind: hangup}\n"
    )

    result = await run(script, FakeChannel())  # 15:00 in Moscow already

    assert result.callback_at is None


# --- transfer, optout, hangup -------------------------------------------------------------

TRANSFER = """\
ivr:
  start: offer
  steps:
    offer: {kind: menu, prompt: p, keys: {"1": hot}, on_timeout: bye}
    hot: {kind: set, temperature: hot, fields: {product: gold}, next: queue}
    queue:
      kind: transfer
      prompt: dialer/connecting
      queue: dialer-operators
      max_wait: 45s
      on_no_answer: later
    later: {kind: set, callback: in 2h, next: bye}
    bye: {kind: hangup, prompt: dialer/busy}
"""


async def test_given_transfer_then_lead_data_is_set_as_channel_variables_and_script_ends() -> None:
    channel = FakeChannel(keys=["1"])
    call = CallContext("a-9", "+79990000001", "t", name='Ivan "Vanya"\nPetrov; =x')

    result = await run(script_of(TRANSFER), channel, call=call)

    assert channel.set_vars == {
        "DIALER_LEAD_NAME": "Ivan Vanya Petrov x",
        "DIALER_LEAD_NUMBER": "+79990000001",
        "DIALER_TEMPERATURE": "hot",
        "DIALER_ANSWERS": "offer=1;product=gold",
        "DIALER_QUEUE": "dialer-operators",
        "DIALER_QUEUE_TIMEOUT": "45",
        "DIALER_NO_ANSWER": "later",  # the dialplan resumes here if nobody answers
    }
    assert channel.played() == ["dialer/connecting"]
    assert ("hangup",) not in channel.log  # the dialplan goes on to Queue()
    assert result.ended_by is EndedBy.TRANSFER
    assert result.transfer is not None
    assert (result.transfer.queue, result.transfer.max_wait_s) == ("dialer-operators", 45)
    assert result.transfer.on_no_answer == "later"


async def test_given_call_back_from_queue_when_started_at_on_no_answer_then_it_runs() -> None:
    channel = FakeChannel()

    result = await run(script_of(TRANSFER), channel, start_at="later")

    assert result.steps == ["later", "bye"]
    assert result.callback_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert channel.played() == ["dialer/busy"]


async def test_given_optout_then_hook_runs_before_the_confirmation_and_call_ends() -> None:
    channel = FakeChannel(keys=["9"])
    seen: list[int] = []

    async def optout(call: CallContext) -> None:
        seen.append(len(channel.log))  # what had happened on the channel by then

    result = await run(script_of(MENU), channel, on_optout=optout)

    assert seen == [1]  # only the menu's read: the confirmation came after
    assert channel.log[1:] == [("play", "dialer/optout-ok"), ("hangup",)]
    assert result.optout is True
    assert result.ended_by is EndedBy.OPTOUT


async def test_given_optout_when_caller_hangs_up_during_confirmation_then_optout_kept() -> None:
    channel = FakeChannel(keys=["9"], hang_up_at=2)

    result = await run(script_of(MENU), channel)

    assert result.optout is True
    assert result.ended_by is EndedBy.CALLER_HANGUP


# --- the caller hangs up anywhere ---------------------------------------------------------


async def _full_keypad_run() -> tuple[IvrResult, int]:
    channel = FakeChannel(keys=["1"])
    result = await run(example("campaign-keypad.yaml"), channel)
    return result, channel.commands


async def test_keypad_example_runs_to_the_transfer() -> None:
    result, commands = await _full_keypad_run()

    assert result.steps == ["greeting", "offer", "interested", "to_operator"]
    assert result.ended_by is EndedBy.TRANSFER
    assert commands == 12  # 3 to greet, 1 menu, 1 prompt and 7 variables to transfer


@pytest.mark.parametrize("at", range(1, 12))
async def test_given_caller_hangs_up_at_any_command_then_answers_so_far_are_kept(at: int) -> None:
    full, _ = await _full_keypad_run()
    channel = FakeChannel(keys=["1"], hang_up_at=at)

    result = await run(example("campaign-keypad.yaml"), channel)

    assert result.ended_by is EndedBy.CALLER_HANGUP
    assert result.steps == full.steps[: len(result.steps)]
    for step, answer in result.answers.items():
        assert full.answers[step] == answer
    assert result.transfer is None
    if "interested" in result.steps:
        assert result.temperature == "hot"


@pytest.mark.parametrize("at", range(1, 4))  # the read, the question, the recording
async def test_given_caller_hangs_up_during_a_survey_then_scores_so_far_are_kept(at: int) -> None:
    channel = FakeChannel(keys=["9#"], hang_up_at=at)
    recognizer = FakeRecognizer([Recognition("хорошо", 0.9)])

    result = await run(script_of(SURVEY), channel, recognizer)

    assert result.ended_by is EndedBy.CALLER_HANGUP
    assert result.survey == ({"nps": 9} if at > 1 else {})


async def test_given_caller_hangs_up_as_the_script_hangs_up_then_it_ended_by_the_script() -> None:
    channel = FakeChannel(keys=["9#"], hang_up_at=4)  # the hangup command itself
    recognizer = FakeRecognizer([Recognition("хорошо", 0.9)])

    result = await run(script_of(SURVEY), channel, recognizer)

    assert result.ended_by is EndedBy.HANGUP
    assert result.survey == {"nps": 9, "satisfaction": "good"}


async def test_given_pbx_error_then_result_says_error_with_answers_so_far() -> None:
    channel = FakeChannel(keys=["1"], fail_at=2)

    result = await run(script_of(TRANSFER), channel)

    assert result.ended_by is EndedBy.ERROR
    assert result.error == "510 Invalid or unknown command"
    assert result.answers["offer"]["keys"] == "1"


async def test_given_caller_who_loops_forever_then_the_step_limit_ends_the_call() -> None:
    script = script_of(
        "ivr:\n  start: m\n  steps:\n"
        "    m: {kind: menu, prompt: p, keys: {'0': m, '1': b}}\n    b: {kind: hangup}\n"
    )
    channel = FakeChannel(keys=["0"] * (MAX_STEPS + 5))

    result = await run(script, channel)

    assert result.ended_by is EndedBy.ERROR
    assert len(result.steps) == MAX_STEPS


# --- examples ---------------------------------------------------------------------------------


async def test_speech_example_routes_a_callback_request_to_tomorrow_morning() -> None:
    recognizer = FakeRecognizer([Recognition("перезвоните позже пожалуйста", 0.8)])

    result = await run(example("campaign-speech.yaml"), FakeChannel(), recognizer)

    assert result.answers["question"]["intent"] == "callback"
    assert result.temperature == "warm"
    assert result.callback_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 10:00 Moscow
    assert result.steps == ["question", "call_later", "will_call_back"]


async def test_survey_example_stores_both_answers() -> None:
    recognizer = FakeRecognizer([Recognition("не доволен", 0.8)])

    result = await run(example("campaign-survey.yaml"), FakeChannel(keys=["10"]), recognizer)

    assert result.survey == {"nps": 10, "satisfaction": "unsatisfied"}
    assert result.disposition == "survey_complete"


def test_result_as_json_is_plain_data() -> None:
    result = IvrResult(callback_at=datetime(2026, 3, 11, 7, 0, tzinfo=UTC))
    result.answers["offer"] = {"keys": "1", "tries": 1}

    data = result.as_json()

    assert data["callback_at"] == "2026-03-11T07:00:00+00:00"
    assert data["answers"] == {"offer": {"keys": "1", "tries": 1}}
    assert data["ended_by"] == "error"


def test_answers_summary_has_no_separators_from_the_answers() -> None:
    script = script_of(TRANSFER)
    result = IvrResult(fields={"note": 'he said "call; me=later"\r\n'})
    result.answers["offer"] = {"keys": "1"}

    assert answers_summary(result, script) == "offer=1;note=he said call me later"


async def test_interpreter_overhead_per_call_is_small() -> None:
    # The dialler-side budget is p99 < 50 ms per step; one whole call with an in-memory
    # channel must stay far below it.
    script = example("campaign-keypad.yaml")
    durations = []
    for _ in range(200):
        started = time.perf_counter()
        await run(script, FakeChannel(keys=["1"]))
        durations.append(time.perf_counter() - started)

    assert sorted(durations)[197] < 0.05
