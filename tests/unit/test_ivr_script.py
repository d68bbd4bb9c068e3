"""The campaign's ivr: section: its shape, and every check with file:line:column."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.loader import (
    CampaignError,
    CampaignProblem,
    campaign_json_schema,
    load_campaign,
    parse_campaign,
)
from dialer.campaign.model import AnswerAction
from ivr.script import IvrScript
from ivr.script_check import ScriptProblem, check_script
from ivr.script_steps import AskStep, MenuStep, PlayStep, SurveyStep, TransferStep

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = ["campaign-keypad.yaml", "campaign-speech.yaml", "campaign-survey.yaml"]
# Eight lines; the ivr: section of each test starts on line 9.
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


def problems(ivr: str, file: str = "campaign.yaml") -> list[CampaignProblem]:
    with pytest.raises(CampaignError) as caught:
        parse_campaign(HEAD + ivr, file)
    return caught.value.problems


def only(ivr: str) -> str:
    found = problems(ivr)
    assert len(found) == 1, [str(p) for p in found]
    return str(found[0])


# --- the examples -------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_campaign_loads_with_an_ivr_script(name: str) -> None:
    campaign = load_campaign(EXAMPLES / name)

    assert campaign.on_answer.action is AnswerAction.IVR
    assert campaign.dial.channel == "Local/{number}@dialer-test-callees"
    assert campaign.ami.secret_env == "DIALER_AMI_SECRET"
    assert campaign.list == "spring"
    assert campaign.ivr is not None
    assert check_script(campaign.ivr, None) == []


def test_keypad_example_has_the_documented_menu() -> None:
    script = load_campaign(EXAMPLES / "campaign-keypad.yaml").ivr
    assert script is not None

    offer = script.steps["offer"]
    assert isinstance(offer, MenuStep)
    assert offer.keys == {"1": "interested", "2": "not_interested", "9": "stop_calling"}
    assert offer.timeout == timedelta(seconds=5)
    transfer = script.steps["to_operator"]
    assert isinstance(transfer, TransferStep)
    assert (transfer.queue, transfer.max_wait) == ("dialer-operators", timedelta(seconds=30))
    greeting = script.steps["greeting"]
    assert isinstance(greeting, PlayStep)
    assert greeting.say[0].number == "amount_due"


def test_speech_example_has_phrases_in_russian_and_english() -> None:
    script = load_campaign(EXAMPLES / "campaign-speech.yaml").ivr
    assert script is not None

    question = script.steps["question"]
    assert isinstance(question, AskStep)
    assert set(question.intents) == {"yes", "no", "callback", "stop"}  # "yes" stays text
    for intent in question.intents.values():
        assert set(intent.phrases) == {"ru", "en"}
    assert script.speech is not None
    assert script.speech.silence == timedelta(seconds=2)


def test_survey_example_asks_nps_on_the_keypad_and_one_question_by_speech() -> None:
    script = load_campaign(EXAMPLES / "campaign-survey.yaml").ivr
    assert script is not None

    nps, spoken = script.steps["nps"], script.steps["satisfaction"]
    assert isinstance(nps, SurveyStep)
    assert (nps.min, nps.max, nps.keypad_digits) == (0, 10, 2)
    assert isinstance(spoken, SurveyStep)
    assert spoken.choices is not None
    assert set(spoken.choices) == {"satisfied", "neutral", "unsatisfied"}


def test_one_prompt_may_be_written_without_a_list() -> None:
    script = parse_campaign(
        HEAD + "ivr:\n  start: a\n  steps:\n"
        "    a: {kind: play, prompts: dialer/hello, next: b}\n    b: {kind: hangup}\n"
    ).ivr
    assert script is not None

    assert script.steps["a"] == PlayStep(kind="play", prompts=["dialer/hello"], next="b")


# --- the graph ----------------------------------------------------------------------------


def test_given_reference_to_no_step_then_error_at_it_with_did_you_mean() -> None:
    text = """\
ivr:
  start: offer
  steps:
    offer:
      kind: menu
      prompt: dialer/offer
      keys:
        "1": intrested
        "2": bye
    interested: {kind: set, temperature: hot, next: bye}
    bye: {kind: hangup}
"""
    found = [str(p) for p in problems(text)]

    assert found == [
        "campaign.yaml:16:14: ivr.steps.offer.keys.1: no step named 'intrested'; "
        "did you mean 'interested'?",
        "campaign.yaml:18:5: ivr.steps.interested: step 'interested' is never reached: "
        "no step leads to it from start 'offer'",
    ]


def test_given_start_that_is_no_step_then_error_at_start() -> None:
    assert only("ivr:\n  start: hello\n  steps:\n    bye: {kind: hangup}\n") == (
        "campaign.yaml:10:10: ivr.start: no step named 'hello'; steps are: bye"
    )


def test_given_unreachable_step_then_error_at_its_name() -> None:
    text = """\
ivr:
  start: a
  steps:
    a: {kind: hangup}
    orphan: {kind: hangup, prompt: dialer/never}
"""
    assert only(text) == (
        "campaign.yaml:13:5: ivr.steps.orphan: step 'orphan' is never reached: "
        "no step leads to it from start 'a'"
    )


def test_given_loop_without_exit_then_error_names_the_loop() -> None:
    text = """\
ivr:
  start: hello
  steps:
    hello: {kind: play, prompts: dialer/hello, next: menu}
    menu:
      kind: menu
      prompt: dialer/menu
      keys: {"1": info, "0": menu}
      on_timeout: menu
    info: {kind: play, prompts: dialer/info, next: menu}
"""
    assert only(text) == (
        "campaign.yaml:13:5: ivr.steps.menu: steps 'menu', 'info' lead only to each other: "
        "a loop with no way out; give one of them a way to a hangup, optout or transfer "
        "step (e.g. a menu's on_timeout)"
    )


@pytest.mark.parametrize(
    "menu",
    [
        # a key out of the loop
        '{kind: menu, prompt: p, keys: {"1": info, "0": menu, "9": bye}, on_timeout: menu}',
        # no on_timeout: running out of retries ends the call
        '{kind: menu, prompt: p, keys: {"1": info, "0": menu}}',
    ],
)
def test_given_loop_with_a_way_out_then_no_problem(menu: str) -> None:
    text = (
        "ivr:\n  start: menu\n  steps:\n"
        f"    menu: {menu}\n"
        "    info: {kind: play, prompts: dialer/info, next: menu}\n"
        "    bye: {kind: hangup}\n"
    )
    script = IvrScript.model_validate(parse_yaml_ivr(text))

    assert [p for p in check_script(script, None) if "loop" in p.message] == []


def parse_yaml_ivr(text: str) -> dict[str, Any]:
    # Through the campaign reader, so values stay text exactly as in a campaign file.
    from dialer.campaign.yaml_source import read_document

    data = read_document(text, "ivr.yaml").data["ivr"]
    assert isinstance(data, dict)
    return data


def test_given_self_loop_then_error_at_the_step() -> None:
    text = """\
ivr:
  start: again
  steps:
    again: {kind: play, prompts: dialer/hello, next: again}
"""
    assert only(text) == (
        "campaign.yaml:12:5: ivr.steps.again: step 'again' leads only back to itself: "
        "a loop with no way out; give one of them a way to a hangup, optout or transfer "
        "step (e.g. a menu's on_timeout)"
    )


# --- prompts --------------------------------------------------------------------------------


def test_given_sounds_dir_then_missing_prompt_files_are_errors_at_their_names(
    tmp_path: Path,
) -> None:
    sounds = tmp_path / "sounds"
    (sounds / "dialer").mkdir(parents=True)
    (sounds / "dialer" / "hello.wav").write_bytes(b"RIFF")
    (sounds / "ru").mkdir()
    (sounds / "ru" / "bye.gsm").write_bytes(b"")  # Asterisk's language folder counts
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(
        HEAD
        + """\
ivr:
  sounds_dir: sounds
  start: a
  steps:
    a:
      kind: play
      prompts: [dialer/hello, dialer/missing]
      next: b
    b: {kind: hangup, prompt: bye}
    c: {kind: hangup, prompt: "../../etc/passwd"}
""",
        encoding="utf-8",
    )

    with pytest.raises(CampaignError) as caught:
        load_campaign(campaign)

    found = [(p.line, p.column, p.field_path, p.message) for p in caught.value.problems]
    assert found == [
        (
            15,
            31,
            "ivr.steps.a.prompts[1]",
            f"no sound file for 'dialer/missing' in {sounds} "
            "(looked for dialer/missing.wav, .gsm, .ulaw, .alaw, .sln, .mp3, .ogg...)",
        ),
        (18, 5, "ivr.steps.c", "step 'c' is never reached: no step leads to it from start 'a'"),
        (
            18,
            31,
            "ivr.steps.c.prompt",
            f"no sound file for '../../etc/passwd' in {sounds} "
            "(looked for ../../etc/passwd.wav, .gsm, .ulaw, .alaw, .sln, .mp3, .ogg...)",
        ),
    ]


def test_given_sounds_dir_that_does_not_exist_then_error_at_it(tmp_path: Path) -> None:
    text = "ivr:\n  sounds_dir: nowhere\n  start: a\n  steps:\n    a: {kind: hangup}\n"

    found = problems(text, str(tmp_path / "campaign.yaml"))

    assert [(p.line, p.column, p.message) for p in found] == [
        (10, 15, f"no such directory: {tmp_path / 'nowhere'}")
    ]


def test_given_no_sounds_dir_then_asterisk_builtin_sounds_are_fine() -> None:
    parse_campaign(
        HEAD + "ivr:\n  start: a\n  steps:\n"
        "    a: {kind: play, prompts: [hello-world, beep], next: b}\n"
        "    b: {kind: hangup, prompt: vm-goodbye}\n"
    )


# --- phrases --------------------------------------------------------------------------------

ASK = """\
ivr:
  language: ru
  speech: {model_dir: /models/ru}
  start: q
  steps:
    q:
      kind: ask
      prompt: dialer/q
      intents:
        yes: {next: bye, phrases: {ru: [да], en: ["yes"]}}
        no:
          next: bye
          phrases:
            en: ["no"]
    bye: {kind: hangup}
"""


def test_given_intent_without_phrases_in_the_scripts_language_then_error_at_its_phrases() -> None:
    assert only(ASK) == (
        "campaign.yaml:21:11: ivr.steps.q.intents.no.phrases: intent 'no' has no phrases "
        "for the script's language 'ru'; add ru: [...]"
    )


def test_given_script_in_english_then_the_english_phrases_count() -> None:
    campaign = parse_campaign(HEAD + ASK.replace("language: ru", "language: en"))

    assert campaign.ivr is not None and campaign.ivr.language == "en"


def test_given_choice_without_phrases_then_error_at_the_choice() -> None:
    text = """\
ivr:
  language: en
  speech: {model_dir: /models/en}
  start: q
  steps:
    q:
      kind: survey
      input: speech
      question: liked
      prompt: dialer/q
      choices:
        good: {en: [good, great]}
        bad: {ru: [плохо]}
      next: bye
    bye: {kind: hangup}
"""
    assert only(text) == (
        "campaign.yaml:21:9: ivr.steps.q.choices.bad: choice 'bad' has no phrases for the "
        "script's language 'en'; add en: [...]"
    )


def test_given_same_phrase_under_two_intents_then_error_at_the_second() -> None:
    text = ASK.replace('en: ["no"]', 'en: ["no"]\n            ru: [нет, Да]')

    assert only(text) == (
        "campaign.yaml:23:23: ivr.steps.q.intents.no.phrases.ru[1]: phrase 'Да' is also "
        "listed under 'yes': the answer would be ambiguous"
    )


def test_given_ask_without_speech_settings_then_error_at_its_kind() -> None:
    text = ASK.replace("  speech: {model_dir: /models/ru}\n", "").replace(
        'en: ["no"]', 'en: ["no"]\n            ru: [нет]'
    )

    assert only(text) == (
        "campaign.yaml:14:13: ivr.steps.q.kind: this step recognises speech: "
        "add ivr.speech with model_dir (the Vosk model directory)"
    )


# --- one step's own rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            "    a: {kind: hangp}\n",
            "campaign.yaml:12:15: ivr.steps.a: unknown kind 'hangp'; did you mean 'hangup'?",
        ),
        (
            "    a: {kind: dial}\n",
            "campaign.yaml:12:15: ivr.steps.a: unknown kind 'dial'; expected play, menu, "
            "ask, survey, set, transfer, optout or hangup",
        ),
        (
            "    a: {prompt: x}\n",
            "campaign.yaml:12:5: ivr.steps.a: kind: is missing; give kind: play, menu, "
            "ask, survey, set, transfer, optout or hangup",
        ),
        (
            "    a:\n      kind: hangup\n      promt: dialer/bye\n",
            "campaign.yaml:14:7: ivr.steps.a.promt: unknown key 'promt'; did you mean 'prompt'?",
        ),
        (
            "    a: {kind: play, prompts: x}\n",
            "campaign.yaml:12:5: ivr.steps.a.next: required field is missing",
        ),
        (
            "    a: {kind: menu, prompt: x, keys: {'#': a}}\n",
            "campaign.yaml:12:39: ivr.steps.a.keys.#: expected keypad keys: digits and '*' "
            "('#' only ends an entry), e.g. \"1\" or \"42\", got '#'",
        ),
        (
            "    a: {kind: menu, prompt: x, keys: {'12': a}}\n",
            "campaign.yaml:12:39: ivr.steps.a.keys.12: key '12' has 2 digits but max_digits is 1",
        ),
        (
            "    a: {kind: menu, prompt: x, keys: {}}\n",
            "campaign.yaml:12:32: ivr.steps.a.keys: must not be empty",
        ),
        (
            "    a: {kind: menu, prompt: x, keys: {'1': a}, timeout: 0s}\n",
            "campaign.yaml:12:57: ivr.steps.a.timeout: must be greater than 0 seconds, got 0s",
        ),
        (
            "    a: {kind: set, callback: tomorow 10:00, next: a}\n",
            "campaign.yaml:12:30: ivr.steps.a.callback: cannot read callback day 'tomorow' in "
            "'tomorow 10:00': expected today, tomorrow, a weekday (monday...sunday) or a date "
            "such as 2026-12-01",
        ),
        (
            "    a: {kind: set, next: a}\n",
            "campaign.yaml:12:5: ivr.steps.a: a set step needs temperature, disposition, "
            "fields or callback",
        ),
        (
            "    a: {kind: set, temperature: boiling, next: a}\n",
            "campaign.yaml:12:33: ivr.steps.a.temperature: expected 'hot', 'warm' or 'cold', "
            "got 'boiling'",
        ),
        (
            "    a: {kind: survey, question: q, prompt: x, min: 5, max: 3, next: a}\n",
            "campaign.yaml:12:5: ivr.steps.a: min (5) is greater than max (3)",
        ),
        (
            "    a: {kind: survey, question: q, prompt: x, input: speech, next: a}\n",
            "campaign.yaml:12:5: ivr.steps.a: input: speech needs choices: "
            "(stored value -> phrases)",
        ),
        (
            "    a: {kind: transfer, max_wait: 30s}\n",
            "campaign.yaml:12:5: ivr.steps.a.queue: required field is missing",
        ),
        (
            "    a: {kind: transfer, queue: 'my queue'}\n",
            "campaign.yaml:12:32: ivr.steps.a.queue: expected an Asterisk name of letters, "
            "digits, '_', '/', '.' or '-' (no spaces, at most 128 characters), got 'my queue'",
        ),
        (
            "    a: {kind: play, say: [{number: amount, prompt: x}], next: a}\n",
            "campaign.yaml:12:27: ivr.steps.a.say[0]: give exactly one of prompt, number, "
            "digits or text",
        ),
        (
            "    a b: {kind: hangup}\n",
            "campaign.yaml:12:5: ivr.steps.a b: expected a step name of letters, digits, '_' "
            "or '-' (starting with a letter or '_', at most 64 characters), got 'a b'",
        ),
    ],
)
def test_given_step_breaking_its_own_rule_then_one_error_at_the_right_place(
    steps: str, expected: str
) -> None:
    name = re.match(r" +(\w+)", steps)  # "a b" is not a valid name: start at "a" then
    assert name is not None
    assert only(f"ivr:\n  start: {name[1]}\n  steps:\n{steps}") == expected


def test_given_speech_silence_in_fractions_then_error_at_it() -> None:
    text = "ivr:\n  speech: {model_dir: /m, silence: 1500ms}\n  start: a\n  steps:\n"
    text += "    a: {kind: hangup}\n"

    assert only(text) == (
        "campaign.yaml:10:36: ivr.speech.silence: must be whole seconds, at least 1s, got 1500ms"
    )


# --- the ivr section and on_answer.action ---------------------------------------------------


def test_given_action_ivr_without_ivr_section_then_error_at_the_action() -> None:
    assert only("") == (
        "campaign.yaml:8:11: on_answer.action: action ivr runs the script of an ivr: "
        "section, and there is none; add ivr: with start: and steps:"
    )


def test_given_ivr_section_without_action_ivr_then_error_at_the_section() -> None:
    text = HEAD.replace("action: ivr", "action: play_and_hangup")
    text += "ivr:\n  start: a\n  steps:\n    a: {kind: hangup}\n"

    with pytest.raises(CampaignError) as caught:
        parse_campaign(text)

    assert str(caught.value) == (
        "campaign.yaml:9:1: ivr: the ivr: script runs only with on_answer.action: ivr "
        "(on_answer.action is play_and_hangup)"
    )


def test_given_campaign_without_ivr_then_it_loads_as_before() -> None:
    text = HEAD.replace("on_answer:\n  action: ivr\n", "")

    assert parse_campaign(text).ivr is None


# --- check_script on its own ----------------------------------------------------------------


def test_check_script_paths_point_into_the_yaml_from_its_top() -> None:
    script = IvrScript.model_validate(
        {
            "start": "a",
            "steps": {
                "a": {"kind": "menu", "prompt": "p", "keys": {"1": "nope"}, "on_timeout": "b"},
                "b": {"kind": "hangup"},
            },
        }
    )

    assert check_script(script, None) == [
        ScriptProblem(("ivr", "steps", "a", "keys", "1"), "no step named 'nope'; steps are: a, b")
    ]
    assert check_script(script, None, prefix=())[0].path == ("steps", "a", "keys", "1")


# --- JSON Schema ------------------------------------------------------------------------------


def test_schema_describes_every_step_kind_and_field() -> None:
    schema = campaign_json_schema()
    defs = schema["$defs"]

    for kind in ("Play", "Menu", "Ask", "Survey", "Set", "Transfer", "Optout", "Hangup"):
        step = defs[f"{kind}Step"]
        assert step["additionalProperties"] is False
        assert all(spec.get("description") for spec in step["properties"].values()), kind
    steps = defs["IvrScript"]["properties"]["steps"]
    assert steps["additionalProperties"] is False
    assert steps["patternProperties"]
    assert "ivr" in schema["properties"]
    assert defs["OnAnswer"]["properties"]["action"]["$ref"].endswith("AnswerAction")
    assert "ivr" in defs["AnswerAction"]["enum"]
