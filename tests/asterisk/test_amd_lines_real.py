"""What AMD() says on a REAL Asterisk for the kinds of line the simulated PBX's personas
stand for, and that the simulator says the same:

- a greeting a person recorded (demo-congrats, [dialer-test-machine]) -> MACHINE,
  MAXWORDS-3-2: words with short gaps between them               (persona `machine`)
- a real line where nobody speaks (frames of silence) -> MACHINE, INITIALSILENCE
                                                                    (persona `silent`)
- a Local channel that sends no frames at all ([dialer-test-callees] answer)
  -> NOTSURE, TOOLONG-4900                                          (persona `answer`)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.asterisk.ami import AmiClient, ami_session
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import RealAsterisk
from tests.asterisk.speaking_callees import SPEAKER_DIAL, make_voice, speaking_asterisk
from tests.integration.test_simpbx_agi_support import ivr_originate
from tests.simpbx_helpers import FAST, ami_client, running_pbx

GREETING, SILENT_LINE, NO_FRAMES = "+79120000601", "+79120000602", "+79120000600"


@pytest.fixture(scope="module")
def speaking() -> Iterator[tuple[RealAsterisk, Path]]:
    assert ASTERISK_BINARY is not None
    with speaking_asterisk(Path(ASTERISK_BINARY)) as found:
        yield found


async def real_verdict(ami: AmiClient, number: str, dial: str) -> tuple[str, str]:
    attempt = f"t{uuid.uuid4().hex[:10]}"
    start = len(ami.messages)
    await ami.send(
        "Originate",
        Channel=dial.format(number=number),
        Context="dialer-answered",
        Exten="s",
        Priority="1",
        Timeout="15000",
        Variable=f"DIALER_ATTEMPT={attempt},DIALER_AMD=1,DIALER_MESSAGE=",
        ChannelId=str(uuid.uuid4()),
        Async="true",
    )
    event = await ami.wait_for(
        lambda m: m.get("UserEvent") == "DialerAMD" and m.get("Attempt") == attempt, 20, start
    )
    return event["AMDStatus"], event["AMDCause"]


async def simulated_verdict(persona: str) -> tuple[str, str]:
    timing = replace(FAST, amd=0.05, message=0.05)
    async with (
        running_pbx(timing=timing, personas={"+79000000001": persona}) as pbx,
        ami_client(pbx) as client,
    ):
        await client.action("o", *ivr_originate("+79000000001", "X", amd=True))
        event = await client.wait_event("UserEvent", UserEvent="DialerAMD")
    return event.get("AMDStatus") or "", event.get("AMDCause") or ""


async def test_amd_verdicts_of_real_lines_are_the_simulated_personas_verdicts(
    speaking: tuple[RealAsterisk, Path],
) -> None:
    pbx, voices = speaking
    make_voice(voices, SILENT_LINE, [("silence", 10)])
    async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami:
        real = await asyncio.gather(
            real_verdict(ami, GREETING, "Local/{number}@dialer-test-machine"),
            real_verdict(ami, SILENT_LINE, SPEAKER_DIAL),
            real_verdict(ami, NO_FRAMES, "Local/{number}@dialer-test-callees"),
        )
    simulated = [await simulated_verdict(p) for p in ("machine", "silent", "answer")]
    print(f"\nreal AMD verdicts: {real}\nsimulated: {simulated}")
    assert real[0] == ("MACHINE", "MAXWORDS-3-2")
    assert real[1][0] == "MACHINE" and real[1][1].startswith("INITIALSILENCE-")
    assert real[2] == ("NOTSURE", "TOOLONG-4900")
    assert simulated == real
