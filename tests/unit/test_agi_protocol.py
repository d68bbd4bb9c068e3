"""The FastAGI wire format (ivr.agi_protocol): pure functions, no sockets."""

from __future__ import annotations

import pytest

from ivr.agi_protocol import (
    HANGUP,
    MAX_DATA_LINES,
    AgiReply,
    ReplyAssembler,
    bare,
    check_command,
    is_dead_safe,
    keys_argument,
    parse_env_line,
    parse_environment,
    parse_success,
    quoted,
    split_script,
)
from tests.traces import received, segments, trace_path

USAGE_BLOCK = [
    "520-Invalid command syntax.  Proper usage follows:",
    "Send the given file, allowing playback to be interrupted by the given digits.",
    "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt.",
    "    <value>SUCCESS</value>",
    "520 End of proper usage.",
]


def feed_all(lines: list[str]) -> list[AgiReply | object]:
    assembler = ReplyAssembler()
    return [item for line in lines if (item := assembler.feed(line)) is not None]


# --- one 200 reply -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "result", "data", "extra"),
    [
        ("200 result=0", "0", "", {}),
        ("200 result=1 (42)", "1", "42", {}),
        ("200 result=0 endpos=3404", "0", "", {"endpos": "3404"}),
        ("200 result=50", "50", "", {}),
        ("200 result=1751 (timeout) endpos=8160", "1751", "timeout", {"endpos": "8160"}),
        ("200 result= (timeout)", "", "timeout", {}),  # GET DATA, no key at all
        ("200 result=-1 (hangup) endpos=4000", "-1", "hangup", {"endpos": "4000"}),
        ("200 result=1 (a (b) c)", "1", "a (b) c", {}),  # a value with parentheses
        ("200 result=1 (x) endpos=5)", "1", "x) endpos=5", {}),  # one that looks like more
        ("200 result=1 ()", "1", "", {}),
        ("200 result=1 (Иван Петров)", "1", "Иван Петров", {}),
        (
            '200 result=1 (speech) endpos=0 results=1 text0="да конечно" grammar0=g',
            "1",
            "speech",
            {"endpos": "0", "results": "1", "text0": "да конечно", "grammar0": "g"},
        ),
        ("200 result=0 Gosub failed", "0", "", {}),
    ],
)
def test_given_200_line_when_parsed_then_result_data_and_extra_are_split(
    line: str, result: str, data: str, extra: dict[str, str]
) -> None:
    assert parse_success(line) == AgiReply(200, result, data, extra, line)


def test_given_value_with_newline_when_assembled_then_the_lines_form_one_reply() -> None:
    assert feed_all(["200 result=1 (first", "second)", "200 result=0"]) == [
        AgiReply(200, "1", "first\nsecond", {}, "200 result=1 (first\nsecond)"),
        AgiReply(200, "0", "", {}, "200 result=0"),
    ]


def test_given_unclosed_data_when_it_never_ends_then_assembly_stops_at_the_bound() -> None:
    replies = feed_all(["200 result=1 (open"] + ["more"] * (MAX_DATA_LINES - 1))
    assert len(replies) == 1 and isinstance(replies[0], AgiReply)
    assert replies[0].code == 0 and replies[0].raw.count("\n") == MAX_DATA_LINES - 1


# --- replies of every kind ---------------------------------------------------------------


def test_given_520_usage_block_when_assembled_then_one_reply_holds_all_its_lines() -> None:
    assembler = ReplyAssembler()
    assert [assembler.feed(line) for line in USAGE_BLOCK[:-1]] == [None] * 4
    reply = assembler.feed(USAGE_BLOCK[-1])
    assert isinstance(reply, AgiReply) and reply.code == 520
    assert reply.data == "\n".join(USAGE_BLOCK[1:-1])  # leading spaces kept
    assert reply.raw == "\n".join(USAGE_BLOCK)
    assert assembler.feed("200 result=0") == AgiReply(200, "0", raw="200 result=0")


@pytest.mark.parametrize(
    ("line", "code", "data"),
    [
        ("510 Invalid or unknown command", 510, "Invalid or unknown command"),
        (
            "511 Command Not Permitted on a dead channel",
            511,
            "Command Not Permitted on a dead channel",
        ),
        ("520 Invalid command syntax.  Proper usage not available.", 520, ""),
        ("something else", 0, ""),
        ("5100 nope", 0, ""),
    ],
)
def test_given_error_line_when_assembled_then_code_and_text_are_kept(
    line: str, code: int, data: str
) -> None:
    (reply,) = feed_all([line])
    assert isinstance(reply, AgiReply) and reply.code == code and reply.raw == line
    if code == 520:
        assert reply.data.startswith("Invalid command syntax")
    elif code:
        assert reply.data == data


def test_given_hangup_and_trying_lines_then_hangup_is_a_notice_and_trying_is_skipped() -> None:
    assert feed_all(["100 result=0 Trying...", "200 result=0", "HANGUP", ""]) == [
        AgiReply(200, "0", raw="200 result=0"),
        HANGUP,
    ]


def test_given_recorded_agi_stream_when_assembled_then_replies_come_out_in_step() -> None:
    path = trace_path("fastagi-session.txt")
    env = next(s.payload for s in segments(path) if s.connection == "agi")
    stream = received(path, "agi").removeprefix(env).decode()
    items = feed_all(stream.split("\n")[:-1])
    assert [getattr(i, "code", i) for i in items] == [
        200,  # ANSWER
        200,  # GET VARIABLE DIALER_ATTEMPT
        200,  # STREAM FILE beep
        200,  # WAIT FOR DIGIT 3000
        200,  # GET DATA
        200,  # RECORD FILE
        200,  # SET VARIABLE
        200,  # EXEC Playback
        510,  # FOO BAR
        520,  # STREAM FILE (usage, 8 lines)
        200,  # WAIT FOR DIGIT 20000 -> -1
        HANGUP,
        511,  # STREAM FILE on the dead channel
        200,  # GET VARIABLE DIALER_RESULT
        200,  # NOOP
    ]


# --- the environment block --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("agi_calleridname: Иван Петров", ("calleridname", "Иван Петров")),
        ("agi_accountcode: ", ("accountcode", "")),
        ("agi_request: agi://127.0.0.1:4573/ivr?x=1", ("request", "agi://127.0.0.1:4573/ivr?x=1")),
        ("agi_arg_1: a: b", ("arg_1", "a: b")),
        ("agi_: nothing", None),
        ("Event: Newchannel", None),
        ("no colon", None),
    ],
)
def test_given_env_line_when_parsed_then_prefix_is_dropped_and_value_kept(
    line: str, parsed: tuple[str, str] | None
) -> None:
    assert parse_env_line(line) == parsed


def test_given_env_lines_when_parsed_then_only_agi_headers_remain() -> None:
    lines = ["agi_network: yes", "junk", "agi_uniqueid: u1", "agi_uniqueid: u2"]
    assert parse_environment(lines) == {"network": "yes", "uniqueid": "u2"}


@pytest.mark.parametrize(
    ("headers", "script", "params"),
    [
        ({"network_script": "ivr?campaign=spring"}, "ivr", {"campaign": "spring"}),
        (
            {"network_script": "ivr?campaign=spring&attempt=x"},
            "ivr",
            {"campaign": "spring", "attempt": "x"},
        ),
        ({"network_script": "ivr"}, "ivr", {}),
        ({"network_script": "/menu/main?a=&b=%D0%98"}, "menu/main", {"a": "", "b": "И"}),
        ({"request": "agi://127.0.0.1:4573/ivr?campaign=spring"}, "ivr", {"campaign": "spring"}),
        ({}, "", {}),
    ],
)
def test_given_agi_url_when_split_then_script_and_query_parameters(
    headers: dict[str, str], script: str, params: dict[str, str]
) -> None:
    assert split_script(headers) == (script, params)


# --- building commands ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a\nHANGUP", "a\r", "a\0b"])
def test_given_line_break_in_any_argument_then_it_is_refused(bad: str) -> None:
    for build in (lambda v: bare(v, "x"), lambda v: quoted(v, "x"), check_command):
        with pytest.raises(ValueError):
            build(bad)


def test_given_value_when_quoted_then_backslash_is_escaped_and_quote_refused() -> None:
    assert quoted("warm", "v") == '"warm"'
    assert quoted("Иван Петров", "v") == '"Иван Петров"'
    assert quoted("", "v") == '""'
    assert quoted("a\\b", "v") == '"a\\\\b"'  # Asterisk's parser reads `\\` as `\`
    with pytest.raises(ValueError, match="double quote"):
        quoted('say "hi"', "v")


@pytest.mark.parametrize("bad", ["", "two words", 'q"', "back\\slash", "tab\there"])
def test_given_unquoted_argument_with_separator_then_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        bare(bad, "a prompt name")


def test_given_keys_then_only_keypad_characters_pass() -> None:
    assert keys_argument("0123456789*#") == '"0123456789*#"'
    assert keys_argument("") == '""'
    with pytest.raises(ValueError):
        keys_argument("1a")


def test_given_empty_command_then_refused() -> None:
    with pytest.raises(ValueError):
        check_command("  ")


@pytest.mark.parametrize(
    ("line", "safe"),
    [
        ("GET VARIABLE DIALER_RESULT", True),
        ('set variable X "1"', True),
        ("NOOP", True),
        ("DATABASE PUT a b c", True),
        ("STREAM FILE beep", False),
        ("EXEC Playback beep", False),
        ("HANGUP", False),
        ("NOOPS", False),
        ("GET VARIABLES", False),
    ],
)
def test_given_command_then_dead_channel_safety_follows_asterisk(line: str, safe: bool) -> None:
    assert is_dead_safe(line) is safe
