"""Pure parts of the simulated PBX: AMI framing, dial strings, caller ids, personas."""

from __future__ import annotations

import pytest

from dialer.simpbx import PERSONAS, persona_for
from dialer.simpbx.channels import parse_caller_id, parse_dial_string
from dialer.simpbx.personas import check_personas, dial_reason
from dialer.simpbx.server import event_mask
from dialer.simpbx.wire import ActionReader, format_message, response, split_messages


def test_given_empty_value_when_formatting_then_space_after_colon_is_kept() -> None:
    data = format_message([("AccountCode", ""), ("Priority", 1)])
    assert data == b"AccountCode: \r\nPriority: 1\r\n\r\n"


def test_given_cyrillic_value_when_formatting_then_raw_utf8_is_sent() -> None:
    data = format_message([("CallerIDName", "Иван Петров")])
    assert data == "CallerIDName: Иван Петров\r\n\r\n".encode()


def test_given_no_action_id_when_replying_then_no_actionid_line() -> None:
    assert response("", "Success", ("Ping", "Pong")) == b"Response: Success\r\nPing: Pong\r\n\r\n"
    assert response("p1", "Error", ("Message", "x")).startswith(
        b"Response: Error\r\nActionID: p1\r\n"
    )


def test_given_incomplete_message_when_splitting_then_rest_is_returned() -> None:
    actions, rest = split_messages("Action: Ping\r\nActionID: 1\r\n\r\nAction: Logo")
    assert [a.name for a in actions] == ["Ping"]
    assert rest == "Action: Logo"


def test_given_bare_lf_lines_when_splitting_then_message_is_parsed() -> None:
    actions, rest = split_messages("Action: Ping\nActionID: 7\n\n")
    assert actions[0].action_id == "7" and rest == ""


def test_given_header_case_when_reading_then_lookup_ignores_case() -> None:
    actions, _ = split_messages(
        "action: Originate\r\nchannelid: X\r\nVariable: A=1\r\nvariable: B=2\r\n\r\n"
    )
    assert actions[0].name == "Originate"
    assert actions[0].get("ChannelId") == "X"
    assert actions[0].get_all("Variable") == ["A=1", "B=2"]


def test_given_utf8_split_across_reads_when_feeding_then_text_is_intact() -> None:
    data = 'Action: Originate\r\nCallerID: "Иван" <+7912>\r\n\r\n'.encode()
    cut = data.index("И".encode()) + 1  # in the middle of a two-byte character
    reader = ActionReader()
    assert reader.feed(data[:cut]) == []
    actions = reader.feed(data[cut:])
    assert actions[0].get("CallerID") == '"Иван" <+7912>'


def test_given_crlf_split_across_reads_when_feeding_then_message_ends() -> None:
    reader = ActionReader()
    assert reader.feed(b"Action: Ping\r\n\r") == []
    assert [a.name for a in reader.feed(b"\n")] == ["Ping"]


@pytest.mark.parametrize(
    ("dial_string", "tech", "number", "host", "local"),
    [
        (
            "Local/+79001234567@dialer-test-callees",
            "Local",
            "+79001234567",
            "dialer-test-callees",
            True,
        ),
        ("PJSIP/+79001234567@trunk", "PJSIP", "+79001234567", "trunk", False),
        ("SIP/trunk/79001234567", "SIP", "79001234567", "", False),
        ("DAHDI/g1/79001234567", "DAHDI", "79001234567", "", False),
        ("Local/op1@operator-sim/n", "Local", "op1", "operator-sim", True),
        ("Foo/100", "Foo", "100", "", False),
    ],
)
def test_dial_string_parts(
    dial_string: str, tech: str, number: str, host: str, local: bool
) -> None:
    target = parse_dial_string(dial_string)
    assert (target.tech, target.number, target.host, target.is_local) == (tech, number, host, local)


def test_unknown_technology_is_not_known() -> None:
    assert not parse_dial_string("Foo/100").is_known
    assert parse_dial_string("IAX2/peer/100").is_known


@pytest.mark.parametrize(
    ("caller_id", "expected"),
    [
        ('"Иван Петров" <+79123456789>', ("+79123456789", "Иван Петров")),
        ("Sales <100>", ("100", "Sales")),
        ("+79123456789", ("+79123456789", "")),
        ("Just a name", ("", "Just a name")),
        ("", ("", "")),
    ],
)
def test_caller_id_parsing(caller_id: str, expected: tuple[str, str]) -> None:
    assert parse_caller_id(caller_id) == expected


@pytest.mark.parametrize(
    ("digit", "persona"),
    [
        ("0", "answer"),
        ("1", "busy"),
        ("2", "no_answer"),
        ("3", "congestion"),
        ("4", "invalid"),
        ("5", "early_hangup"),
        ("6", "queue_taken"),
        ("7", "queue_abandon"),
        ("8", "answer"),
        ("9", "no_answer"),
    ],
)
def test_persona_by_last_digit(digit: str, persona: str) -> None:
    assert persona_for(f"+7900123456{digit}", {}) == persona


def test_explicit_persona_map_wins_with_or_without_plus() -> None:
    personas = {"+79001234560": "busy17", "79001234561": "failed"}
    assert persona_for("+79001234560", personas) == "busy17"
    assert persona_for("79001234560", personas) == "busy17"
    assert persona_for("+79001234561", personas) == "failed"


def test_every_persona_name_is_exported_and_unknown_names_are_refused() -> None:
    assert {"busy17", "congestion34", "failed", "answer"} <= set(PERSONAS)
    with pytest.raises(ValueError, match="unknown persona"):
        check_personas({"+7900": "grumpy"})


@pytest.mark.parametrize(("cause", "reason"), [(17, 5), (34, 8), (19, 3), (16, 0), (0, 0), (1, 0)])
def test_dial_reason_follows_pbx_dial_reason(cause: int, reason: int) -> None:
    assert dial_reason(cause) == reason


def test_event_mask_is_limited_to_read_classes() -> None:
    allowed = frozenset({"call", "agent", "user", "system"})
    assert event_mask("", allowed) == allowed
    assert event_mask("on", allowed) == allowed
    assert event_mask("off", allowed) == frozenset()
    assert event_mask("call,cdr", allowed) == frozenset({"call"})
