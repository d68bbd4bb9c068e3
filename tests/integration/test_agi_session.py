"""AgiSession (commands, replies, hangups, the CallChannel methods) over real TCP, against
a fake Asterisk client that answers with the bytes a real Asterisk 22 sent
(tests/fixtures/asterisk-traces)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ivr.agi_protocol import is_dead_safe
from ivr.agi_session import AgiCommandError, AgiSession
from ivr.channel import CallerHungUp, ChannelError, PlayResult, RecordResult
from tests.integration.test_fastagi_fake import (
    Answer,
    FakeAsterisk,
    env_block,
    from_table,
    outcome,
    run_call,
    running,
    trace_exchanges,
    until,
)

# Our set_variable quotes every value; the recorder sent this one bare. Asterisk strips
# the quotes, so both lines set the same value.
QUOTED_ALIASES = {'SET VARIABLE DIALER_RESULT "warm"': "SET VARIABLE DIALER_RESULT warm"}


def trace_answers() -> tuple[dict[str, list[Answer]], list[str]]:
    """Each recorded command -> its recorded replies (in order), and the command list."""
    table: dict[str, list[Answer]] = {}
    for ex in trace_exchanges():
        (t0, first), *rest = ex.chunks
        # Later chunks (the HANGUP line) keep their recorded gap, capped to stay fast.
        gap = min(rest[0][0] - t0, 0.05) if rest else 0.0
        then = b"".join(chunk for _, chunk in rest)
        table.setdefault(ex.command, []).append(Answer(first, then=then, gap=gap))
    return table, [ex.command for ex in trace_exchanges()]


async def test_given_recorded_session_when_replayed_then_every_reply_is_parsed() -> None:
    table, recorded = trace_answers()
    # Where playback stopped (in samples) varies from one recording to the next.
    stream_reply = table['STREAM FILE beep "0123456789*#"'][0].data.decode()
    endpos = stream_reply.removeprefix("200 result=0 endpos=").strip()
    assert endpos.isdigit(), stream_reply

    def answer(command: str) -> Answer:
        return table[QUOTED_ALIASES.get(command, command)].pop(0)

    async def script(ch: AgiSession) -> dict[str, object]:
        seen: dict[str, object] = {}
        seen["answer"] = await ch.command("ANSWER")
        seen["attempt"] = await ch.get_variable("DIALER_ATTEMPT")
        seen["play"] = await ch.play(["beep"], "0123456789*#")
        seen["play_reply"] = ch.last_reply
        seen["digit"] = await ch.read_digits(None, 3000, 1)
        seen["data"] = await ch.read_digits("beep", 3000, 2)
        seen["record"] = await ch.record(Path("/tmp/rec-test"), 3000, 1)
        await ch.set_variable("DIALER_RESULT", "warm")
        seen["exec"] = await ch.command("EXEC Playback beep")
        seen["foo"] = await outcome(ch.command("FOO BAR"))
        seen["usage"] = await outcome(ch.command("STREAM FILE"))
        seen["hangup"] = await outcome(ch.read_digits(None, 20000, 1))
        seen["hung_up"] = ch.hung_up
        seen["play_dead"] = await outcome(ch.play(["beep"]))
        seen["result"] = await ch.get_variable("DIALER_RESULT")
        seen["noop"] = await ch.command("NOOP")
        return seen

    call = await run_call(script, answer)
    seen = call.outcome
    assert isinstance(seen, dict), seen
    assert seen["answer"].result == "0"  # type: ignore[attr-defined]
    assert seen["attempt"] == "42"
    assert seen["play"] == PlayResult(None)
    assert seen["play_reply"].extra == {"endpos": endpos}  # type: ignore[attr-defined]
    assert seen["digit"] == "2"  # result=50, the ASCII code of '2'
    assert seen["data"] == "34"
    # `(timeout)` with a leftover result=1751: silence ended it, 8160 samples = 1020 ms.
    assert seen["record"] == RecordResult(Path("/tmp/rec-test.wav"), "silence", 1020)
    assert seen["exec"].result == "0"  # type: ignore[attr-defined]
    foo = seen["foo"]
    assert isinstance(foo, AgiCommandError) and foo.reply.code == 510
    usage = seen["usage"]
    assert isinstance(usage, ChannelError) and not isinstance(usage, CallerHungUp)
    assert "<variable>PLAYBACKSTATUS</variable>" in str(usage)
    assert isinstance(usage, AgiCommandError) and usage.reply.raw.endswith(
        "520 End of proper usage."
    )
    # The whole 520 block was consumed: the next command got its own `200 result=-1`.
    assert type(seen["hangup"]) is CallerHungUp
    assert seen["hung_up"] is True
    assert type(seen["play_dead"]) is CallerHungUp
    assert seen["result"] == "warm"
    assert seen["noop"].result == "0"  # type: ignore[attr-defined]
    # Same commands as the recorder sent, except STREAM FILE after the HANGUP line:
    # it would only have drawn the 511, so it is refused without being sent.
    assert [QUOTED_ALIASES.get(c, c) for c in call.commands] == [
        c for c in recorded if c != 'STREAM FILE beep ""'
    ]


async def test_given_511_without_hangup_line_then_hung_up_and_dead_safe_commands_work() -> None:
    table, _ = trace_answers()
    replies = {c: a[0] for c, a in table.items()}

    async def script(ch: AgiSession) -> tuple[object, bool, object]:
        dead = await outcome(ch.play(["beep"]))
        return dead, ch.hung_up, await ch.get_variable("DIALER_RESULT")

    call = await run_call(script, from_table(replies))  # type: ignore[arg-type]
    dead, hung_up, value = call.outcome  # type: ignore[misc]
    assert type(dead) is CallerHungUp and "dead channel" in str(dead)
    assert hung_up is True and value == "warm"


# --- hangup at every point of a short script ------------------------------------------

SCRIPT = [
    ("ANSWER", b"200 result=0\n"),
    ("GET VARIABLE DIALER_ATTEMPT", b"200 result=1 (42)\n"),
    ('STREAM FILE beep "12"', b"200 result=0 endpos=3404\n"),
    ('SET VARIABLE DIALER_RESULT "warm"', b"200 result=1\n"),
    ("WAIT FOR DIGIT 1000", b"200 result=49\n"),
]


async def short_script(ch: AgiSession) -> str:
    await ch.command("ANSWER")
    await ch.get_variable("DIALER_ATTEMPT")
    await ch.play(["beep"], "12")
    await ch.set_variable("DIALER_RESULT", "warm")
    return await ch.read_digits(None, 1000, 1)


def hangup_cases() -> list[tuple[str, int]]:
    cases = [(mode, k) for mode in ("eof-before", "hangup-before") for k in range(5)]
    cases += [(mode, k) for mode in ("eof-after", "hangup-after") for k in range(4)]
    cases += [("during", 2), ("during", 4)]  # STREAM FILE / WAIT FOR DIGIT interrupted
    return cases


@pytest.mark.parametrize(("mode", "point"), hangup_cases())
async def test_given_hangup_at_each_point_then_handler_sees_caller_hung_up_and_socket_closes(
    mode: str, point: int
) -> None:
    normal = dict(SCRIPT)
    target = SCRIPT[point][0]
    gone = False

    def answer(command: str) -> Answer | bytes:
        nonlocal gone
        if gone:  # what Asterisk answers on a dead channel
            return normal[command] if is_dead_safe(command) else b"511 Command Not Permitted\n"
        if command != target:
            return normal[command]
        gone = True
        dead_reply = normal[command] if is_dead_safe(command) else b"511 Command Not Permitted\n"
        return {
            "eof-before": Answer(eof=True),
            "hangup-before": Answer(b"HANGUP\n" + dead_reply),
            "eof-after": Answer(normal[command], eof=True),
            "hangup-after": Answer(normal[command] + b"HANGUP\n"),
            "during": Answer(b"200 result=-1 endpos=0\nHANGUP\n"),
        }[mode]

    call = await run_call(short_script, answer)

    assert type(call.outcome) is CallerHungUp, call.outcome
    assert call.session.hung_up and call.session.closed
    hangup_index = call.commands.index(target)
    after = call.commands[hangup_index + 1 :]
    if mode == "eof-after":
        # The FIN travels behind the reply: the next command may leave before it lands.
        assert len(after) <= 1, after
    else:
        assert all(is_dead_safe(c) for c in after), after  # nothing else sent once gone
    # The server closed the socket right after the handler returned.
    assert call.fake.closed_at is not None and call.fake.last_answer_at is not None
    assert call.fake.closed_at - call.fake.last_answer_at < 0.3


# --- closing the socket -------------------------------------------------------------------


async def test_given_hangup_line_while_handler_lingers_then_socket_closes_after_grace() -> None:
    lingering = asyncio.Event()
    finished = False

    async def handler(ch: AgiSession) -> None:
        nonlocal finished
        try:
            await ch.read_digits(None, 20000, 1)
        except CallerHungUp:
            await ch.set_variable("DIALER_RESULT", "hangup")  # dead-safe: still allowed
            lingering.set()
            await asyncio.sleep(10)  # e.g. slow bookkeeping: must not hold the call
        finished = True

    table = {
        "WAIT FOR DIGIT 20000": Answer(b"200 result=-1\n", then=b"HANGUP\n", gap=0.04),
        'SET VARIABLE DIALER_RESULT "hangup"': b"200 result=1\n",
    }
    async with running(handler, hangup_grace=0.1, stop_timeout=0.05) as server:
        fake = await FakeAsterisk.connect(server.port)
        answering = asyncio.create_task(fake.answer_all(from_table(table)))
        await asyncio.wait_for(lingering.wait(), 1.0)
        await asyncio.wait_for(answering, 1.0)  # ends when the server closes the socket
        assert fake.last_answer_at is not None and fake.closed_at is not None
        assert 0.05 < fake.closed_at - fake.last_answer_at < 0.5
        assert not finished
        fake.close()
    assert not finished  # stop() cancelled the lingering handler after stop_timeout


async def test_given_hangup_line_while_idle_then_only_dead_safe_commands_are_sent() -> None:
    async def script(ch: AgiSession) -> list[object]:
        await ch.command("ANSWER")
        await until(lambda: ch.hung_up)
        return [
            await outcome(ch.play(["beep"])),
            await ch.get_variable("DIALER_RESULT"),
            await outcome(ch.read_digits("beep", 1000, 2)),
            await ch.command("NOOP"),
        ]

    table = {
        "ANSWER": Answer(b"200 result=0\n", then=b"HANGUP\n", gap=0.01),
        "GET VARIABLE DIALER_RESULT": b"200 result=1 (warm)\n",
        "NOOP": b"200 result=0\n",
    }
    call = await run_call(script, from_table(table))
    played, value, read, noop = call.outcome  # type: ignore[misc]
    assert type(played) is CallerHungUp and type(read) is CallerHungUp
    assert value == "warm" and noop.result == "0"
    assert call.commands == ["ANSWER", "GET VARIABLE DIALER_RESULT", "NOOP"]


async def test_given_script_hangs_up_then_hangup_sent_once_and_socket_closed() -> None:
    async def script(ch: AgiSession) -> object:
        await ch.hangup()
        await ch.hangup()  # already gone: a no-op
        return await outcome(ch.play(["beep"]))

    call = await run_call(script, from_table({"HANGUP": b"200 result=1\nHANGUP\n"}))
    assert type(call.outcome) is CallerHungUp
    assert call.commands == ["HANGUP"]


# --- the environment block ---------------------------------------------------------------


async def test_given_query_parameters_then_params_parsed_and_merged_under_headers() -> None:
    async def script(ch: AgiSession) -> None:
        return None

    env = env_block(network_script="ivr?campaign=spring&attempt=x&uniqueid=spoof")
    call = await run_call(script, from_table({}), env=env)
    ch = call.session
    assert ch.script == "ivr"
    assert ch.params == {"campaign": "spring", "attempt": "x", "uniqueid": "spoof"}
    assert ch.variables["attempt"] == "x" and ch.variables["calleridname"] == "Иван Петров"
    assert ch.variables["uniqueid"] == "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c18"  # header wins


# --- errors ---------------------------------------------------------------------------------


async def test_given_result_minus_one_without_hangup_then_channel_error_and_call_goes_on() -> None:
    async def script(ch: AgiSession) -> tuple[object, object, bool]:
        missing = await outcome(ch.play(["no-such-prompt"]))
        return missing, await ch.command("NOOP"), ch.hung_up

    table = {
        'STREAM FILE no-such-prompt ""': b"200 result=-1 endpos=0\n",
        "NOOP": b"200 result=0\n",
    }
    call = await run_call(script, from_table(table), hangup_confirm=0.05)
    missing, noop, hung_up = call.outcome  # type: ignore[misc]
    assert isinstance(missing, AgiCommandError) and not isinstance(missing, CallerHungUp)
    assert noop.result == "0" and hung_up is False


async def test_given_command_with_line_break_or_quote_then_refused_and_nothing_sent() -> None:
    async def script(ch: AgiSession) -> list[object]:
        return [
            await outcome(ch.command("NOOP\nHANGUP")),
            await outcome(ch.command("EXEC Playback beep\r")),
            await outcome(ch.set_variable("X", 'a"\nHANGUP')),
            await outcome(ch.set_variable("X", "a\nb")),
            await outcome(ch.play(["beep", "x\nHANGUP"])),
            await outcome(ch.get_variable("A B")),
            await outcome(ch.play(["beep"], "1\nHANGUP")),
            await ch.command("NOOP"),
        ]

    call = await run_call(script, from_table({"NOOP": b"200 result=0\n"}))
    *refused, _noop = call.outcome  # type: ignore[misc]
    assert all(isinstance(r, ValueError) for r in refused), refused
    assert call.commands == ["NOOP"]


async def test_given_cancelled_command_then_its_late_reply_does_not_poison_the_next() -> None:
    async def script(ch: AgiSession) -> tuple[object, object]:
        timed_out = await outcome(asyncio.wait_for(ch.read_digits(None, 5000, 1), 0.02))
        return timed_out, await ch.get_variable("X")

    table = {
        "WAIT FOR DIGIT 5000": Answer(b"200 result=49\n", delay=0.1),
        "GET VARIABLE X": b"200 result=1 (x)\n",
    }
    call = await run_call(script, from_table(table))
    timed_out, value = call.outcome  # type: ignore[misc]
    assert isinstance(timed_out, TimeoutError)
    assert value == "x"


# --- the CallChannel methods ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "delay", "silence_s", "expected"),
    [
        (b"200 result=35 (dtmf) endpos=16000\n", 0.0, 2, ("dtmf", 2000)),
        (b"200 result=-1 (hangup) endpos=4000\n", 0.0, 2, ("hangup", 500)),
        (b"200 result=0 (timeout) endpos=3200\n", 0.0, 2, ("silence", 400)),
        (b"200 result=0 (timeout) endpos=3200\n", 0.25, 2, ("timeout", 400)),
        (b"200 result=0 (timeout) endpos=3200\n", 0.0, 0, ("timeout", 400)),
    ],
)
async def test_given_record_reply_then_how_it_ended_and_duration_are_reported(
    reply: bytes, delay: float, silence_s: int, expected: tuple[str, int]
) -> None:
    async def script(ch: AgiSession) -> tuple[object, bool]:
        return await ch.record(Path("/tmp/msg"), 400, silence_s, beep=True), ch.hung_up

    line = 'RECORD FILE /tmp/msg wav "#" 400 0 BEEP' + (f" s={silence_s}" if silence_s else "")
    call = await run_call(script, from_table({line: Answer(reply, delay=delay)}))
    result, hung_up = call.outcome  # type: ignore[misc]
    assert result == RecordResult(Path("/tmp/msg.wav"), *expected)
    assert hung_up is (expected[0] == "hangup")


async def test_given_record_cannot_write_then_channel_error() -> None:
    async def script(ch: AgiSession) -> object:
        return await outcome(ch.record(Path("/nope/msg"), 1000, 0))

    table = {'RECORD FILE /nope/msg wav "#" 1000 0': b"200 result=-1 (writefile)\n"}
    call = await run_call(script, from_table(table), hangup_confirm=0.05)
    assert isinstance(call.outcome, AgiCommandError) and "writefile" in str(call.outcome)


async def test_given_say_and_read_commands_then_lines_and_results_match_asterisk() -> None:
    async def script(ch: AgiSession) -> list[object]:
        return [
            await ch.say_number(42, "#"),
            await ch.say_digits("123"),
            await ch.read_digits(None, 2000, 1),
            await ch.read_digits(None, 2000, 4),
            await ch.read_digits("enter-code", 2000, 4),
            await ch.get_variable("UNSET"),
            await ch.play(["one", "two", "three"], "5"),
            await ch.command("EXEC Wait 1"),
        ]

    table = {
        'SAY NUMBER 42 "#"': b"200 result=35\n",
        'SAY DIGITS 123 ""': b"200 result=0\n",
        "WAIT FOR DIGIT 2000": b"200 result=35\n",  # '#' ends input: not an answer
        "GET DATA silence/1 2000 4": b"200 result=12 (timeout)\n",
        "GET DATA enter-code 2000 4": b"200 result= (timeout)\n",
        "GET VARIABLE UNSET": b"200 result=0\n",
        'STREAM FILE one "5"': b"200 result=0 endpos=100\n",
        'STREAM FILE two "5"': b"200 result=53 endpos=50\n",
        "EXEC Wait 1": b"100 result=0 Trying...\n200 result=0\n",
    }
    call = await run_call(script, from_table(table))
    *results, trying = call.outcome  # type: ignore[misc]
    assert results == [PlayResult("#"), PlayResult(None), "", "12", "", None, PlayResult("5")]
    assert trying.result == "0"  # the `100 Trying...` line was skipped
    assert 'STREAM FILE three "5"' not in call.commands  # the key stopped the prompt list
