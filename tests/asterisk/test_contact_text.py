"""Contact text never runs in the dialplan, on a REAL Asterisk.

The IVR hands the lead's name, number and answers to the operators' side in channel
variables (DIALER_LEAD_NAME, DIALER_LEAD_NUMBER, DIALER_ANSWERS) with AGI SET VARIABLE.
A name like `${SHELL(touch /tmp/x)}` or `$[...]` must not be evaluated by the stock
dialplan nor by the ways the README tells users to read those variables (CALLERID(name),
a quoted expression, LEN(), a UserEvent for a CRM pop-up), not even by an unquoted
expression or EVAL(). The product code does the setting: our FastAGI server, our
AgiSession, and the transfer step's own neutralisation (ivr.run_result.variable_text).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.agi_session import AgiSession
from ivr.fastagi import FastAgiServer
from ivr.run_result import variable_text
from tests.asterisk.ami import ami_session
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import ExtraConfig, RealAsterisk, start_private_asterisk

MARKERS = Path(tempfile.gettempdir()) / f"dialer-injection-{uuid.uuid4().hex[:8]}"
HOSTILE_NAMES = [
    f"${{SHELL(touch {MARKERS}-a)}}",
    f"$[${{SHELL(touch {MARKERS}-b)}}]",
    f"SHELL(touch {MARKERS}-c)",
    f'") | SHELL(touch {MARKERS}-d) | ("',
    "$[1+1]",
    "Иван ${CALLERID(num)} Петров",
]
# How users read the variables on the operators' side (as the README documents), and
# the careless ways too: none may evaluate what the variable holds.
CONTEXT = """
[dialer-test-contact-text]
exten => s,1,Answer()
 same => n,AGI(agi://${AGI_ADDRESS}/ivr)
 same => n,Set(__DIALER_LEAD_NAME=${DIALER_LEAD_NAME})
 same => n,Set(CALLERID(name)=${DIALER_LEAD_NAME})
 same => n,ExecIf($["${DIALER_LEAD_NAME}" != ""]?Set(SEEN=yes))
 same => n,Set(LENGTH=${LEN(${DIALER_LEAD_NAME})})
 same => n,Set(UNQUOTED=$[${DIALER_LEAD_NAME} = 1])
 same => n,Set(EVALUATED=${EVAL(${DIALER_LEAD_NAME})})
 same => n,Set(FIELDS=Name: ${DIALER_LEAD_NAME},CallerName: ${CALLERID(name)})
 same => n,UserEvent(ContactText,${FIELDS},Seen: ${SEEN},Length: ${LENGTH})
 same => n,Hangup()
"""


@pytest.fixture(scope="module")
def pbx() -> Iterator[RealAsterisk]:
    assert ASTERISK_BINARY is not None  # the conftest skips this folder without one
    tmpdir = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))
    extra = ExtraConfig(appends={"extensions.conf": CONTEXT})
    try:
        with start_private_asterisk(Path(ASTERISK_BINARY), tmpdir, extra=extra) as started:
            yield started
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


async def _call_with_name(pbx: RealAsterisk, name: str) -> dict[str, str]:
    async def transfer_step(session: AgiSession) -> None:
        await session.set_variable("DIALER_LEAD_NAME", variable_text(name))

    server = FastAgiServer(transfer_step, host="127.0.0.1", port=0)
    await server.start()
    try:
        async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami:
            start = len(ami.messages)
            await ami.send(
                "Originate",
                Channel="Local/s@dialer-test-contact-text",
                Application="Wait",
                Data="5",
                Variable=f"AGI_ADDRESS=127.0.0.1:{server.port}",
                Async="true",
            )
            event = await ami.wait_for(
                lambda m: m.get("Event") == "UserEvent" and m.get("UserEvent") == "ContactText",
                20,
                start,
            )
            return dict(event.items())
    finally:
        await server.stop()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_given_hostile_contact_text_then_the_dialplan_never_evaluates_it(
    pbx: RealAsterisk, name: str
) -> None:
    event = asyncio.run(_call_with_name(pbx, name))
    sent = variable_text(name)
    assert "$" not in sent and "(" not in sent  # nothing left for the dialplan to call
    assert event["Name"] == sent
    assert event["CallerName"] == sent
    assert event["Seen"] == "yes"
    assert event["Length"] == str(len(sent.encode()))  # LEN() counts bytes
    assert not list(MARKERS.parent.glob(MARKERS.name + "*")), "the dialplan ran contact text"
