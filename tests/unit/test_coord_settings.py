"""Channel limits as given on the command line, and the trunk a dial template uses."""

from __future__ import annotations

import pytest

from dialer.coord import ChannelLimit, parse_channel_limit
from dialer.engine.cluster_campaign import trunk_of


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("trunk:carrier=30", ChannelLimit("trunk", "carrier", 30)),
        ("server:10.0.0.5:5038=120", ChannelLimit("server", "10.0.0.5:5038", 120)),
        (" trunk:a=b=1 ", ChannelLimit("trunk", "a=b", 1)),
    ],
)
def test_channel_limits_read(text: str, limit: ChannelLimit) -> None:
    assert parse_channel_limit(text) == limit


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("carrier=30", "expected trunk:NAME=N"),
        ("queue:x=3", "expected trunk:NAME=N"),
        ("trunk:x=", "expected trunk:NAME=N"),
        ("trunk:x=-1", "expected trunk:NAME=N"),
        ("trunk:x=0", "at least 1"),
    ],
)
def test_bad_channel_limits_say_what_is_expected(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_channel_limit(text)


@pytest.mark.parametrize(
    ("template", "trunk"),
    [
        ("PJSIP/{number}@carrier", "carrier"),
        ("SIP/carrier/{number}", "carrier"),
        ("DAHDI/g1/{number}", "g1"),
        ("Local/{number}@dialer-test-callees", "dialer-test-callees"),
        ("PJSIP/{number}", "PJSIP"),
    ],
)
def test_the_trunk_of_a_dial_template(template: str, trunk: str) -> None:
    assert trunk_of(template) == trunk
