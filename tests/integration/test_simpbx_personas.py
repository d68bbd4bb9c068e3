"""Each persona ends with the OriginateResponse Reason and Hangup causes of the trace table
(README of tests/fixtures/asterisk-traces), for Local channel pairs and for a one-channel trunk."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.simpbx_helpers import (
    FAST,
    AmiTestClient,
    ami_client,
    originate_fields,
    running_pbx,
    wait_call_over,
)

EXPLICIT = {
    "+79000000100": "busy17",
    "+79000000200": "congestion34",
    "+79000000300": "failed",
}
NUMBERS = {
    "answer": "+79000000000",
    "busy": "+79000000001",
    "no_answer": "+79000000002",
    "congestion": "+79000000003",
    "invalid": "+79000000004",
    "early_hangup": "+79000000005",
    "queue_taken": "+79000000006",
    "queue_abandon": "+79000000007",
    "busy17": "+79000000100",
    "congestion34": "+79000000200",
    "failed": "+79000000300",
}

# persona: (Response, Reason, cause on X, cause on X;2, DialEnd status or None, result)
LOCAL_TABLE = {
    "answer": ("Success", "4", "16", "16", "ANSWER", "answered"),
    "busy": ("Failure", "5", "0", "17", "BUSY", "busy"),
    "no_answer": ("Failure", "3", "19", "19", None, "no_answer"),
    "congestion": ("Failure", "8", "0", "34", "CONGESTION", "congestion"),
    "invalid": ("Failure", "0", "1", "1", "NOANSWER", "invalid_number"),
    "early_hangup": ("Success", "4", "16", "16", "ANSWER", "answered"),
    "queue_taken": ("Success", "4", "16", "16", "ANSWER", "answered"),
    "queue_abandon": ("Success", "4", "16", "16", "ANSWER", "answered"),
    "busy17": ("Failure", "0", "17", "17", "BUSY", "busy"),
    "congestion34": ("Failure", "0", "34", "34", "CONGESTION", "congestion"),
    "failed": ("Failure", "0", "0", "0", None, "failed"),
}

# persona: (Response, Reason, cause, DialEnd status or None, result)
TRUNK_TABLE = {
    "answer": ("Success", "4", "16", "ANSWER", "answered"),
    "busy": ("Failure", "5", "17", "BUSY", "busy"),
    "no_answer": ("Failure", "3", "19", None, "no_answer"),
    "congestion": ("Failure", "8", "34", "CONGESTION", "congestion"),
    "invalid": ("Failure", "0", "1", "NOANSWER", "invalid_number"),
    "early_hangup": ("Success", "4", "16", "ANSWER", "answered"),
    "busy17": ("Failure", "5", "17", "BUSY", "busy"),
    "congestion34": ("Failure", "8", "34", "CONGESTION", "congestion"),
    "failed": ("Failure", "0", "0", None, "failed"),
}


def dial_end(client: AmiTestClient, channel_id: str) -> str | None:
    ends = [m for m in client.events("DialEnd") if m.get("DestUniqueid") == channel_id]
    assert len(ends) <= 1
    return ends[0].get("DialStatus") if ends else None


@pytest.mark.parametrize("persona", sorted(LOCAL_TABLE))
async def test_local_persona_outcome(persona: str) -> None:
    response, reason, cause1, cause2, status, result = LOCAL_TABLE[persona]
    number = NUMBERS[persona]
    async with running_pbx(personas=EXPLICIT) as pbx, ami_client(pbx) as client:
        fields = originate_fields(f"Local/{number}@dialer-test-callees", "X", timeout_ms=100)
        await client.action("o", *fields)
        await wait_call_over(client, "X")
        first = client.events()[1]  # after FullyBooted
        origin = client.events("OriginateResponse")[0]
        hangups = {m.get("Uniqueid"): m.get("Cause") for m in client.events("Hangup")}
        record = pbx.calls["X"]
    assert (first.event, first.get("Uniqueid"), first.get("Linkedid")) == ("Newchannel", "X", "X")
    assert (origin.get("Response"), origin.get("Reason"), origin.get("Uniqueid")) == (
        response,
        reason,
        "X",
    )
    expected_channel = (
        client.events("Newchannel")[0].get("Channel") if response == "Success" else fields[1][1]
    )
    assert origin.get("Channel") == expected_channel
    assert hangups == {"X": cause1, "X;2": cause2}
    assert dial_end(client, "X") == status
    assert (record.result, record.persona, record.reason) == (result, persona, int(reason))
    assert (record.cause, record.other_cause) == (int(cause1), int(cause2))


@pytest.mark.parametrize("persona", sorted(TRUNK_TABLE))
async def test_trunk_persona_outcome_on_one_channel(persona: str) -> None:
    response, reason, cause, status, result = TRUNK_TABLE[persona]
    number = NUMBERS[persona]
    async with running_pbx(personas=EXPLICIT) as pbx, ami_client(pbx) as client:
        await client.action("o", *originate_fields(f"PJSIP/{number}@trunk", "T", timeout_ms=100))
        await wait_call_over(client, "T", local=False)
        origin = client.events("OriginateResponse")[0]
        names = {m.get("Channel") for m in client.events("Newchannel")}
        hangups = {m.get("Uniqueid"): m.get("Cause") for m in client.events("Hangup")}
    assert (origin.get("Response"), origin.get("Reason")) == (response, reason)
    assert hangups == {"T": cause}
    assert len(names) == 1 and names.pop().startswith("PJSIP/trunk-")
    assert client.events("LocalBridge") == []
    assert dial_end(client, "T") == status
    assert pbx.calls["T"].result == result


async def test_originate_response_and_hangup_come_in_both_orders() -> None:
    async with running_pbx(seed=3) as pbx, ami_client(pbx) as client:
        ids = [f"R{n}" for n in range(40)]
        for cid in ids:
            await client.action(f"o-{cid}", *originate_fields("Local/+79000000004@x", cid))
        for cid in ids:
            await wait_call_over(client, cid)
        order = [
            m.get("Uniqueid") + ":" + m.event
            for m in client.messages
            if m.event in ("OriginateResponse", "Hangup")
        ]
    before = sum(order.index(f"{c}:OriginateResponse") < order.index(f"{c}:Hangup") for c in ids)
    assert 0 < before < len(ids)
    assert len(pbx.originates) == 40


async def test_without_channel_id_uniqueids_look_like_asterisk_ones() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        fields = [f for f in originate_fields("Local/+79000000001@x", "") if f[0] != "ChannelId"]
        await client.action("o", *fields)
        origin = await client.wait_event("OriginateResponse")
    one, two = (m.get("Uniqueid") for m in client.events("Newchannel"))
    assert origin.get("Uniqueid") == one
    assert one.split(".")[0].isdigit() and two != f"{one};2"
    assert pbx.originates[0].channel_id == ""


async def test_given_channel_limit_when_exceeded_then_congestion() -> None:
    timing = replace(FAST, message=0.3)
    async with running_pbx(channel_limit=2, timing=timing) as pbx, ami_client(pbx) as client:
        for cid in ("L1", "L2", "L3"):
            await client.action(f"o-{cid}", *originate_fields("Local/+79000000000@x", cid))
        await wait_call_over(client, "L3")
        origin = await client.wait_event("OriginateResponse", Uniqueid="L3")
        hangups = {m.get("Uniqueid"): m.get("Cause") for m in client.events("Hangup")}
        await wait_call_over(client, "L1")
        await wait_call_over(client, "L2")
        await client.action("o-L4", *originate_fields("PJSIP/+79000000000@trunk", "L4"))
        await client.wait_event("OriginateResponse", Uniqueid="L4")
    assert (origin.get("Reason"), hangups["L3"], hangups["L3;2"]) == ("8", "0", "34")
    assert pbx.calls["L3"].over_limit and pbx.calls["L3"].result == "congestion"
    assert pbx.calls["L4"].over_limit is False
    assert pbx.max_concurrent == 2


async def test_originate_records_keep_what_the_dialer_sent() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        await client.action(
            "orig-1", *originate_fields("Local/+79000000001@x", "O1", queue="sales")
        )
        await wait_call_over(client, "O1")
    record = pbx.originates[0]
    assert (record.action_id, record.channel_id, record.number, record.persona) == (
        "orig-1",
        "O1",
        "+79000000001",
        "busy",
    )
    assert (
        record.variables["DIALER_QUEUE"] == "sales" and record.variables["DIALER_ATTEMPT"] == "42"
    )
    assert record.dial_string == "Local/+79000000001@x"


async def test_repeated_variable_headers_are_accepted() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        fields = [f for f in originate_fields("Local/+79000000001@x", "V1") if f[0] != "Variable"]
        fields += [("Variable", "DIALER_ATTEMPT=7"), ("Variable", "DIALER_QUEUE=")]
        await client.action("o", *fields)
        await wait_call_over(client, "V1")
    assert pbx.originates[0].variables == {"DIALER_ATTEMPT": "7", "DIALER_QUEUE": ""}
