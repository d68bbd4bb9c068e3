"""Campaign YAML -> Campaign, and every way a file can be wrong, with file:line:column."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from dialer.campaign.loader import CampaignError, CampaignProblem, load_campaign
from dialer.campaign.model import AnswerAction, Campaign, RetrySettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaign.yaml"

# The smallest valid campaign; tests append or replace lines to break it in one place.
MINIMAL = """\
name: spring-promo
list: spring
ami:
  secret_env: DIALER_AMI_SECRET
dial:
  channel: PJSIP/{number}@trunk
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Files are loaded by relative name so messages read "campaign.yaml:3:5: ...".
    monkeypatch.chdir(tmp_path)


def load(text: str) -> Campaign:
    path = Path("campaign.yaml")
    path.write_text(text, encoding="utf-8")
    return load_campaign(path)


def error_loading(path: Path) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    return caught.value


def error_of(text: str) -> CampaignError:
    Path("campaign.yaml").write_text(text, encoding="utf-8")
    return error_loading(Path("campaign.yaml"))


def problems(text: str) -> list[CampaignProblem]:
    return error_of(text).problems


def only_problem(text: str) -> CampaignProblem:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def at(problem: CampaignProblem) -> tuple[int | None, int | None, str]:
    return problem.line, problem.column, problem.field_path


# --- valid files ------------------------------------------------------------------------


def test_given_example_file_when_loaded_then_it_is_the_documented_campaign() -> None:
    campaign = load_campaign(EXAMPLE)

    assert campaign.name == "spring-promo"
    assert campaign.list == "spring"
    assert (campaign.ami.host, campaign.ami.port, campaign.ami.username) == (
        "127.0.0.1",
        5038,
        "dialer",
    )
    assert campaign.ami.secret_env == "DIALER_AMI_SECRET"
    assert campaign.dial.channel == "Local/{number}@dialer-test-callees"
    assert campaign.on_answer.action is AnswerAction.PLAY_AND_QUEUE
    assert campaign.on_answer.queue == "dialer-operators"


def _field_paths(model: type[Campaign], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths = set()
    for name, field in model.model_fields.items():
        paths.add((*prefix, name))
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            paths |= _field_paths(annotation, (*prefix, name))
    return paths


def _written_paths(data: dict, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths = set()
    for key, value in data.items():
        paths.add((*prefix, key))
        if isinstance(value, dict) and key != "variables":
            paths |= _written_paths(value, (*prefix, key))
    return paths


def test_given_example_file_then_every_setting_is_written_out() -> None:
    written = _written_paths(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))

    # secret and secret_env exclude each other; the example shows secret as a comment.
    # ivr: has its own examples (campaign-keypad/speech/survey.yaml); it needs action ivr.
    # Recycling times (`at`) are shown on one rule, no_answer, where they are most used.
    recycling = {("retry", rule, "at") for rule in RetrySettings.model_fields} - {
        ("retry", "no_answer", "at")
    }
    assert _field_paths(Campaign) - written - recycling == {("ami", "secret"), ("ivr",)}
    assert "# secret:" in EXAMPLE.read_text(encoding="utf-8")


def test_given_minimal_file_when_loaded_then_defaults_fill_the_rest() -> None:
    campaign = load(MINIMAL)

    assert campaign.dial.ring_timeout == timedelta(seconds=30)
    assert campaign.pacing.max_channels == 10
    assert campaign.retry.busy.delay == timedelta(minutes=10)


def test_given_yaml_merge_key_when_loaded_then_rules_share_values() -> None:
    campaign = load(
        MINIMAL
        + "retry:\n"
        + "  busy: &quick {delay: 2m, max: 5}\n"
        + "  congestion:\n"
        + "    <<: *quick\n"
        + "    max: 1\n"
    )

    assert campaign.retry.congestion.delay == timedelta(minutes=2)
    assert campaign.retry.congestion.max == 1


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("no", "no"),  # YAML 1.1 would make it False
        ("1:30", "1:30"),  # ... the sexagesimal int 90
        ("0123", "0123"),  # ... the octal int 83
        ("2025-03-01", "2025-03-01"),  # ... a date
        ("1e3", "1e3"),  # ... a float
        ("'null'", "null"),  # quoted: text, not null
    ],
)
def test_given_scalar_yaml_would_convert_when_loaded_then_text_is_kept(
    written: str, kept: str
) -> None:
    campaign = load(MINIMAL + f"  variables:\n    PROMO: {written}\n")

    assert campaign.dial.variables == {"PROMO": kept}


def test_given_numbers_written_as_text_when_loaded_then_number_fields_get_numbers() -> None:
    campaign = load(MINIMAL + "pacing:\n  max_channels: 25\n  calls_per_second: 0.5\n")

    assert campaign.pacing.max_channels == 25
    assert campaign.pacing.calls_per_second == 0.5


def test_given_file_with_byte_order_mark_when_loaded_then_it_is_read() -> None:
    Path("campaign.yaml").write_text(MINIMAL, encoding="utf-8-sig")

    assert load_campaign(Path("campaign.yaml")).name == "spring-promo"


# --- how errors read --------------------------------------------------------------------


def test_given_bad_duration_then_error_line_names_file_line_column_path_and_expectation() -> None:
    error_text = str(error_of(MINIMAL + "  ring_timeout: 10\n"))

    assert error_text == (
        "campaign.yaml:7:17: dial.ring_timeout: "
        "expected a duration such as 90s, 10m, 2h or 1h30m, got '10'"
    )


def test_given_several_problems_then_one_line_each_in_file_order() -> None:
    text = MINIMAL.replace("spring-promo", "spring promo") + "pacing:\n  max_channels: many\n"

    error = error_of(text)

    assert [p.line for p in error.problems] == [1, 8]
    assert str(error).count("\n") == 1


# --- the file itself --------------------------------------------------------------------


def test_given_missing_file_then_error_says_so() -> None:
    error = error_loading(Path("nope.yaml"))

    assert str(error) == "nope.yaml: no such file"


def test_given_file_not_utf8_then_error_names_the_line() -> None:
    Path("campaign.yaml").write_bytes(b"name: x\nlist: \xff\n")

    problem = error_loading(Path("campaign.yaml")).problems[0]

    assert (problem.line, problem.column) == (2, 7)
    assert "not UTF-8" in problem.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_given_empty_file_then_error_says_it_is_empty(text: str) -> None:
    problem = only_problem(text)

    assert problem.line is None
    assert problem.message.startswith("the file is empty")


@pytest.mark.parametrize(
    ("text", "line", "column", "got"),
    [
        ("- name: x\n- list: y\n", 1, 1, "got a list"),
        ("# campaign\nspring-promo\n", 2, 1, "got the text 'spring-promo'"),
    ],
)
def test_given_top_level_not_a_mapping_then_error_says_what_is_expected(
    text: str, line: int, column: int, got: str
) -> None:
    problem = only_problem(text)

    assert (problem.line, problem.column) == (line, column)
    assert "expected campaign settings as 'key: value' lines" in problem.message
    assert problem.message.endswith(got)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("name: x\nlist: y: z\n", 2, 8, "unexpected ':'"),
        ("name: x\ndial:\n\tchannel: x\n", 3, 1, "tab character"),
        ("name: x\nlist: [a, b\n", 3, 1, "the '[' at line 2, column 7 is never closed"),
        ("name: x\nlist: {a: 1\n", 3, 1, "the '{' at line 2, column 7 is never closed"),
        ("name: 'x\nlist: y\n", 3, 1, "the quote opened at line 1, column 7 is never closed"),
        ("ami:\n  host: a\n port: 1\n", 3, 2, "does not line up"),
        ("name: x\nlist: @y\n", 2, 7, "cannot start with '@'"),
        ("name: *x\n", 1, 7, "*x refers to an anchor &x"),
        ("name: &a x\nlist: &a y\n", 2, 7, "&a is defined twice (first at line 1, column 7)"),
        ("name: x\n---\nname: y\n", 2, 1, "a second YAML document"),
        ('name: "a\\qb"\n', 1, 10, "unknown escape '\\q'"),
        ("name: x\nlist: \x07\n", 2, 7, "character U+0007 is not allowed"),
    ],
)
def test_given_broken_yaml_then_error_points_at_it_in_plain_words(
    text: str, line: int, column: int, words: str
) -> None:
    problem = only_problem(text)

    assert (problem.line, problem.column) == (line, column)
    assert problem.message.startswith("YAML syntax error: ") or "U+" in problem.message
    assert words in problem.message


def test_given_unusual_syntax_error_then_pyyaml_words_are_kept() -> None:
    problem = only_problem("name: x\n%YAML 1.1\n")

    assert (problem.line, problem.column) == (3, 1)
    assert problem.message == (
        "YAML syntax error: expected '<document start>', but found '<stream end>'"
    )


# --- duplicate and unknown keys ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "path", "first_line"),
    [
        (MINIMAL + "name: again\n", 7, 1, "name", 1),
        (MINIMAL + "  channel: PJSIP/{number}@other\n", 7, 3, "dial.channel", 6),
        (MINIMAL + "retry:\n  busy: {delay: 1m, max: 1, max: 2}\n", 8, 29, "retry.busy.max", 8),
    ],
)
def test_given_duplicate_key_then_error_is_at_second_occurrence(
    text: str, line: int, column: int, path: str, first_line: int
) -> None:
    problem = only_problem(text)

    assert at(problem) == (line, column, path)
    assert f"already given at line {first_line}" in problem.message


@pytest.mark.parametrize(
    ("text", "line", "column", "path", "suggestion"),
    [
        (MINIMAL + "  ring_timout: 30s\n", 7, 3, "dial.ring_timout", "ring_timeout"),
        (MINIMAL.replace("  secret_env", "  secretenv"), 4, 3, "ami.secretenv", "secret_env"),
        (MINIMAL + "pacng:\n  max_channels: 5\n", 7, 1, "pacng", "pacing"),
        (MINIMAL + "retry:\n  busy:\n    delai: 1m\n", 9, 5, "retry.busy.delai", "delay"),
        (MINIMAL + "  Ring_Timeout: 30s\n", 7, 3, "dial.Ring_Timeout", "ring_timeout"),
    ],
)
def test_given_misspelt_key_then_error_at_key_suggests_the_right_one(
    text: str, line: int, column: int, path: str, suggestion: str
) -> None:
    found = problems(text)
    unknown = [p for p in found if "unknown key" in p.message]

    assert len(unknown) == 1
    assert at(unknown[0]) == (line, column, path)
    assert unknown[0].message.endswith(f"did you mean {suggestion!r}?")


def test_given_unknown_key_without_close_match_then_allowed_keys_are_listed() -> None:
    problem = only_problem(MINIMAL + "pacing:\n  speed: 9000\n")

    assert at(problem) == (8, 3, "pacing.speed")
    assert problem.message == (
        "unknown key 'speed'; allowed keys here: mode, max_channels, calls_per_second, "
        "ratio, abandon_target, connect_limit, compliance_message, wrapup, operator_guaranteed, "
        "share"
    )


# --- types and required fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "line", "column", "path", "message"),
    [
        (
            "pacing:\n  max_channels: abc\n",
            8,
            17,
            "pacing.max_channels",
            "expected a whole number, got 'abc'",
        ),
        (
            "pacing:\n  max_channels: 1.5\n",
            8,
            17,
            "pacing.max_channels",
            "expected a whole number, got '1.5'",
        ),
        (
            "pacing:\n  calls_per_second: fast\n",
            8,
            21,
            "pacing.calls_per_second",
            "expected a number, got 'fast'",
        ),
        (
            "pacing:\n  max_channels: 0\n",
            8,
            17,
            "pacing.max_channels",
            "must be at least 1, got '0'",
        ),
        (
            "pacing:\n  mode: turbo\n",
            8,
            9,
            "pacing.mode",
            "expected 'fixed', 'progressive', 'power' or 'predictive', got 'turbo'",
        ),
        (
            "on_answer:\n  action: transfer\n",
            8,
            11,
            "on_answer.action",
            "expected 'play_and_hangup', 'play_and_queue' or 'ivr', got 'transfer'",
        ),
        (
            "on_answer:\n  message: hello world\n",
            8,
            12,
            "on_answer.message",
            "expected an Asterisk name of letters, digits, '_', '/', '.' or '-' "
            "(no spaces, at most 128 characters), got 'hello world'",
        ),
        (
            "pacing: 5\n",
            7,
            9,
            "pacing",
            "expected a mapping of settings (mode, max_channels, calls_per_second, ratio, "
            "abandon_target, connect_limit, compliance_message, wrapup, operator_guaranteed, "
            "share) as indented 'key: value' lines, got '5'",
        ),
        (
            "on_answer:\n  queue_timeout: 0s\n",
            8,
            18,
            "on_answer.queue_timeout",
            "must be greater than 0 seconds, got 0s",
        ),
    ],
)
def test_given_wrong_value_then_error_at_value_says_what_was_expected(
    extra: str, line: int, column: int, path: str, message: str
) -> None:
    problem = only_problem(MINIMAL + extra)

    assert at(problem) == (line, column, path)
    assert problem.message == message


def test_given_wrong_port_then_error_says_the_range() -> None:
    problem = only_problem(MINIMAL.replace("ami:\n", "ami:\n  port: 70000\n"))

    assert at(problem) == (4, 9, "ami.port")
    assert problem.message == "must be at most 65535, got '70000'"


@pytest.mark.parametrize(
    ("text", "line", "column", "path"),
    [
        (MINIMAL.replace("list: spring\n", ""), 1, 1, "list"),
        ("# a campaign\n" + MINIMAL.replace("name: spring-promo\n", ""), 2, 1, "name"),
        (MINIMAL.replace("  channel: PJSIP/{number}@trunk\n", "  ring_timeout: 30s\n"), 5, 1,
         "dial.channel"),
        (MINIMAL + "retry:\n  busy:\n    delay: 1m\n", 8, 3, "retry.busy.max"),
    ],
)  # fmt: skip
def test_given_required_field_missing_then_error_is_at_the_mapping_that_lacks_it(
    text: str, line: int, column: int, path: str
) -> None:
    problem = only_problem(text)

    assert at(problem) == (line, column, path)
    assert problem.message == "required field is missing"


def test_given_section_left_empty_then_error_says_a_mapping_was_expected() -> None:
    problem = only_problem(MINIMAL.replace("dial:\n  channel: PJSIP/{number}@trunk\n", "dial:\n"))

    assert at(problem) == (5, 1, "dial")
    assert problem.message.startswith("expected a mapping of settings (channel, caller_id,")
    assert problem.message.endswith("got an empty value")


def test_given_empty_name_then_error_says_text_was_expected() -> None:
    problem = only_problem(MINIMAL.replace("name: spring-promo", "name:"))

    assert at(problem) == (1, 1, "name")
    assert problem.message == "expected text, got an empty value"


def test_given_unsupported_yaml_tag_then_error_at_value() -> None:
    problem = only_problem(MINIMAL.replace("secret_env: DIALER_AMI_SECRET", "secret: !env X"))

    assert at(problem) == (4, 11, "ami.secret")
    assert problem.message == "YAML tag !env is not supported in a campaign file"


# --- durations --------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["10", "10 minutes", "-5s", "1:30", "'90'", "1.5", "s"])
def test_given_bad_duration_then_error_at_value_quotes_it(written: str) -> None:
    problem = only_problem(MINIMAL + f"  ring_timeout: {written}\n")

    assert at(problem) == (7, 17, "dial.ring_timeout")
    assert problem.message == (
        f"expected a duration such as 90s, 10m, 2h or 1h30m, got {written.strip(chr(39))!r}"
    )


def test_given_ring_timeout_below_15s_then_rejected_at_its_line() -> None:
    problem = only_problem(MINIMAL + "  ring_timeout: 14s\n")

    assert at(problem) == (7, 17, "dial.ring_timeout")
    assert problem.message == "must be at least 15s, got 14s"


def test_given_ring_timeout_of_15s_then_accepted() -> None:
    assert load(MINIMAL + "  ring_timeout: 15s\n").dial.ring_timeout == timedelta(seconds=15)


# --- whole-object rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "path", "message"),
    [
        (
            MINIMAL.replace("  secret_env:", "  secret: s3cret\n  secret_env:"),
            3,
            1,
            "ami",
            "give either secret or secret_env, not both",
        ),
        (
            MINIMAL.replace("  secret_env: DIALER_AMI_SECRET", "  host: pbx"),
            3,
            1,
            "ami",
            "give secret_env (name of an environment variable holding the AMI secret) or secret",
        ),
        (
            MINIMAL + "on_answer:\n  action: play_and_queue\n",
            7,
            1,
            "on_answer",
            "action play_and_queue needs queue: <Asterisk queue name>",
        ),
        (
            MINIMAL + "on_answer: {action: play_and_queue}\n",
            7,
            1,
            "on_answer",
            "action play_and_queue needs queue: <Asterisk queue name>",
        ),
    ],
)
def test_given_whole_object_rule_broken_then_error_at_the_object_line(
    text: str, line: int, column: int, path: str, message: str
) -> None:
    problem = only_problem(text)

    assert at(problem) == (line, column, path)
    assert problem.message == message


def test_given_secret_env_not_a_variable_name_then_rejected() -> None:
    problem = only_problem(MINIMAL.replace("DIALER_AMI_SECRET", "DIALER-AMI-SECRET"))

    assert at(problem) == (4, 15, "ami.secret_env")
    assert problem.message.startswith("expected an environment variable name")


def test_given_bad_secret_then_its_value_never_appears_in_the_error() -> None:
    text = MINIMAL.replace("secret_env: DIALER_AMI_SECRET", 'secret: "hunter2\\nAction: x"')

    problem = only_problem(text)

    assert at(problem) == (4, 11, "ami.secret")
    assert "hunter2" not in str(problem)


def test_given_secret_in_file_then_campaign_repr_hides_it() -> None:
    campaign = load(MINIMAL.replace("secret_env: DIALER_AMI_SECRET", "secret: hunter2"))

    assert campaign.ami.secret == "hunter2"
    assert "hunter2" not in repr(campaign)


# --- nothing from the file reaches AMI unchecked ----------------------------------------


@pytest.mark.parametrize(
    ("channel", "words"),
    [
        ("PJSIP/{number}@trunk&Local/1", "'&' cannot be part of a dial string"),
        ("PJSIP/{number}@trunk,30", "',' cannot be part of a dial string"),
        ('"PJSIP/{number}@trunk\\r\\nAction: Hangup"', "cannot be part of a dial string"),
        ("PJSIP/trunk", "must contain the {number} placeholder"),
        ("PJSIP/{number}@{trunk}", "may only use the {number} placeholder"),
        ("'{number}@trunk'", "must look like TECH/resource"),
        ("'PJSIP/{number} @trunk'", "' ' cannot be part of a dial string"),
    ],
)
def test_given_unsafe_dial_channel_then_rejected_at_its_line(channel: str, words: str) -> None:
    problem = only_problem(MINIMAL.replace("PJSIP/{number}@trunk", channel))

    assert at(problem) == (6, 12, "dial.channel")
    assert words in problem.message


@pytest.mark.parametrize(
    "channel",
    [
        "PJSIP/{number}@trunk",
        "SIP/trunk/{number}",
        "IAX2/peer/{number}",
        "Local/{number}@dialer-test-callees/n",
        "PJSIP/trunk/sip:{number}@10.0.0.1:5060",
    ],
)
def test_given_usual_dial_channel_then_accepted(channel: str) -> None:
    assert load(MINIMAL.replace("PJSIP/{number}@trunk", channel)).dial.channel == channel


@pytest.mark.parametrize(
    ("variables", "column", "path", "words"),
    [
        ("{PROMO: 'a,b'}", 22, "dial.variables.PROMO", "without line breaks, ',', '=' or '|'"),
        ("{PROMO: 'a|b'}", 22, "dial.variables.PROMO", "without line breaks, ',', '=' or '|'"),
        ('{PROMO: "a\\nb"}', 22, "dial.variables.PROMO", "without line breaks"),
        ("{A=B: x}", 15, "dial.variables.A=B", "expected a variable name"),
        ("{1ST: x}", 15, "dial.variables.1ST", "expected a variable name"),
    ],
)
def test_given_unsafe_channel_variable_then_rejected_at_it(
    variables: str, column: int, path: str, words: str
) -> None:
    problem = only_problem(MINIMAL + f"  variables: {variables}\n")

    assert at(problem) == (7, column, path)
    assert words in problem.message


def test_given_caller_id_with_line_break_then_rejected() -> None:
    problem = only_problem(MINIMAL + '  caller_id: "Promo\\r\\nAction: Originate"\n')

    assert at(problem) == (7, 14, "dial.caller_id")
    assert "single line" in problem.message


# --- YAML features a settings file does not need ----------------------------------------


def test_given_alias_to_its_own_parent_then_error_instead_of_endless_loop() -> None:
    problem = only_problem(MINIMAL.replace("dial:\n", "dial: &dial\n") + "  again: *dial\n")

    assert (problem.line, problem.column) == (7, 3)
    assert problem.message == "an alias refers to a mapping or list that contains it"


def test_given_aliases_that_multiply_then_error_instead_of_exhausting_memory() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]

    problem = only_problem("\n".join(lines) + "\n")

    assert problem.message == "too many values (aliases expanding without end?)"


def test_given_key_that_is_a_list_then_error_at_the_key() -> None:
    found = problems(MINIMAL + "? [a, b]\n: 1\n")

    assert [(p.line, p.column, p.message) for p in found] == [
        (7, 3, "a key must be a plain name, not a list or mapping")
    ]


def test_given_merge_of_a_scalar_then_error_at_the_mapping() -> None:
    found = problems(MINIMAL + "retry:\n  busy:\n    <<: 5\n    delay: 1m\n    max: 1\n")

    assert [at(p) for p in found] == [(9, 5, "retry.busy")]
    assert found[0].message.startswith("cannot merge '<<': expected a mapping")


def test_given_aliased_mapping_with_merge_used_twice_then_no_false_duplicates() -> None:
    campaign = load(
        MINIMAL
        + "retry:\n"
        + "  busy: &base {delay: 2m, max: 5}\n"
        + "  congestion: &tuned\n"
        + "    <<: *base\n"
        + "    max: 1\n"
        + "  failed: *tuned\n"
    )

    assert campaign.retry.failed == campaign.retry.congestion
    assert campaign.retry.failed.max == 1
