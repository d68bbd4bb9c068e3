"""The [dialer] AMI user of asterisk-config/manager.conf can do everything the dialer
does, cannot do what it does not need, and receives the events the dialer reads and
not the bulk it does not."""

from __future__ import annotations

import asyncio
import uuid

from tests.asterisk.ami import ami_session
from tests.asterisk.calls import place_call
from tests.asterisk.private_asterisk import TEST_DIAL_STRING, RealAsterisk

DENIED = "Permission denied"


async def test_dialer_user_may_send_every_action_the_dialer_uses(
    real_asterisk: RealAsterisk,
) -> None:
    pbx = real_asterisk
    async with ami_session(pbx.host, pbx.port, pbx.username, pbx.secret) as ami:
        ping = await ami.action("Ping")
        assert ping["Response"] == "Success" and ping["Ping"] == "Pong"

        # A ringing call (no_answer persona) to list and to hang up.
        channel_id = str(uuid.uuid4())
        originate = await ami.action(
            "Originate",
            Channel=TEST_DIAL_STRING.format(number="+79123456782"),
            Context="dialer-answered",
            Exten="s",
            Priority="1",
            Timeout="15000",
            Variable="DIALER_ATTEMPT=perm-1,DIALER_MESSAGE=beep,DIALER_QUEUE=,"
            # The journal's hangup handler: a function write, allowed without `system`.
            'CHANNEL(hangup_handler_push)="dialer-journal,ended,1"',
            ChannelId=channel_id,
            Async="true",
        )
        assert originate["Response"] == "Success", originate
        newchannel = await ami.wait_for(
            lambda m: m.get("Event") == "Newchannel" and m.get("Uniqueid") == channel_id, 5.0
        )

        response, channels = await ami.list_action("CoreShowChannels")
        assert response["Response"] == "Success", response
        assert channel_id in {m.get("Uniqueid") for m in channels}

        response, queue_items = await ami.list_action("QueueStatus")
        assert response["Response"] == "Success", response
        params = [m for m in queue_items if m.get("Event") == "QueueParams"]
        assert "dialer-operators" in {m["Queue"] for m in params}

        response, summaries = await ami.list_action("QueueSummary")
        assert response["Response"] == "Success", response
        assert "dialer-operators" in {m["Queue"] for m in summaries}

        hangup = await ami.action("Hangup", Channel=newchannel["Channel"], Cause="16")
        assert hangup["Response"] == "Success", hangup
        assert hangup["Message"] == "Channel Hungup"
        originate_response = await ami.wait_for(
            lambda m: m.get("Event") == "OriginateResponse" and m.get("Uniqueid") == channel_id,
            5.0,
        )
        assert originate_response["Response"] == "Failure"
        await ami.wait_for(
            lambda m: m.get("Event") == "Hangup" and m.get("Uniqueid") == channel_id, 5.0
        )

        # The PBX journal: read (DBGetTree, reporting), Asterisk's startup time
        # (CoreStatus, reporting), and delete through the dialplan (an Originate).
        response, journal = await ami.list_action("DBGetTree", Family="dialer/perm-1")
        assert response["Response"] == "Success", response
        assert {m["Key"] for m in journal} == {"/dialer/perm-1/cause", "/dialer/perm-1/ended"}
        status = await ami.action("CoreStatus")
        assert status["Response"] == "Success" and status["CoreStartupTime"], status
        forget = await ami.action(
            "Originate",
            Channel="Local/s@dialer-journal-forget",
            Application="NoOp",
            Variable="DIALER_FORGET=perm-1",
            Async="true",
        )
        assert forget["Response"] == "Success", forget
        for _ in range(50):
            response, journal = await ami.list_action("DBGetTree", Family="dialer/perm-1")
            if not journal:
                break
            await asyncio.sleep(0.1)
        assert journal == []


async def test_dialer_user_is_refused_what_it_does_not_need(real_asterisk: RealAsterisk) -> None:
    pbx = real_asterisk
    async with ami_session(pbx.host, pbx.port, pbx.username, pbx.secret) as ami:
        refused = {
            "Command": {"Command": "core show version"},  # write class command
            "QueuePause": {
                "Interface": "Local/op1@dialer-test-operators/n",
                "Paused": "true",
            },  # agent
            "DBPut": {"Family": "dialer", "Key": "k", "Val": "v"},  # system
            # AMI deletes from AstDB need system (which with originate would allow an
            # Originate of System()): the journal is deleted by [dialer-journal-forget].
            "DBDel": {"Family": "dialer", "Key": "k"},  # system
            "DBDelTree": {"Family": "dialer"},  # system
            "Reload": {},  # system, config
        }
        for action, headers in refused.items():
            response = await ami.action(action, **headers)
            assert response["Response"] == "Error", (action, response)
            assert response["Message"] == DENIED, (action, response)


async def test_dialer_user_receives_only_the_event_classes_it_reads(
    real_asterisk: RealAsterisk,
) -> None:
    pbx = real_asterisk
    async with (
        ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as admin,
        ami_session(pbx.host, pbx.port, pbx.username, pbx.secret) as dialer,
    ):
        # FullyBooted follows Login only for users with `system` read: the dialer's sign
        # that Asterisk is ready.
        await dialer.wait_for(lambda m: m.get("Event") == "FullyBooted", 2.0)
        admin_start = len(admin.messages)
        call = await place_call(dialer, "+79123456780")  # answer persona
        # Let the admin session catch up with the last events of the call.
        await admin.wait_for(
            lambda m: m.get("Event") == "Hangup" and m.get("Uniqueid") == f"{call.channel_id};2",
            5.0,
            admin_start,
        )
        await asyncio.sleep(0.3)

    dialer_events = {m["Event"] for m in call.events}
    admin_events = {m.get("Event") for m in admin.messages[admin_start:]}
    # What the dialer reads is there...
    assert {"OriginateResponse", "Newchannel", "Newstate", "Hangup"} <= dialer_events
    # ...the bulk exists (the admin user sees it) but does not reach the dialer user:
    # dialplan and cdr classes by `read`, the rest by the manager.conf eventfilters.
    # (No Cdr here: cdr_manager stays off without a cdr_manager.conf.)
    unwanted = {"VarSet", "Newexten", "DeviceStateChange", "NewConnectedLine", "NewCallerid"}
    assert unwanted <= admin_events, unwanted - admin_events
    assert not (unwanted & {m.get("Event") for m in dialer.messages})
    privileges = {m["Privilege"].split(",")[0] for m in dialer.messages if "Privilege" in m}
    assert privileges <= {"system", "call", "agent", "user"}, privileges
