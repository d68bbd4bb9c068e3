"""Runs the campaign's IVR script on each answered call that Asterisk hands to our FastAGI
server, and keeps each call's result until the engine closes the attempt.

Asterisk connects with `agi://<dialer>/ivr?attempt=<attempt id>`; the attempt id ties the
session to the contact the engine leased. The result is kept, not written: the attempt is
closed once, by the engine, when the call's Hangup arrives (which Asterisk sends only
after our server has closed the FastAGI socket, so the result is always there first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from dialer.store.base import LeasedContact
from ivr.agi_session import AgiSession
from ivr.channel import CallChannel
from ivr.interpreter import run_script
from ivr.prompt_files import PromptFilesChannel
from ivr.recognition import SpeechRecognizer
from ivr.recordings import sweep_recordings
from ivr.run_result import IvrResult
from ivr.run_state import CallContext, Voices
from ivr.script import IvrScript
from ivr.stream_channel import StreamChannel, StreamMedia

log = logging.getLogger("dialer.engine.ivr")

OptOut = Callable[[str, str], Awaitable[None]]  # (number, attempt id)
# speech.keep_recordings: a duration is applied at the start and then at most this often
# while calls go on, so a campaign that runs for weeks keeps nothing much longer.
SWEEP_EVERY = timedelta(hours=1)


class IvrCalls:
    def __init__(
        self,
        campaign: str,
        script: IvrScript,
        recognizer: SpeechRecognizer | None,
        clock: Callable[[], datetime],
        opt_out: OptOut,
        playable: Mapping[str, str] | None = None,
        media: StreamMedia | None = None,
        voices: Voices | None = None,
    ) -> None:
        self._campaign = campaign
        self.media = media  # on_answer.media: stream (speech over AudioSocket)
        self._playable = playable or {}
        self._voices = voices
        self._script = script
        self._recognizer = recognizer
        self._clock = clock
        self._opt_out = opt_out
        self._expected: dict[str, LeasedContact] = {}
        self._results: dict[str, IvrResult] = {}
        self._next_sweep: datetime | None = None
        self.sessions = 0

    async def sweep_recordings(self) -> None:
        """Delete recordings older than speech.keep_recordings (when it is a duration)."""
        speech = self._script.speech
        if speech is None or not isinstance(speech.keep_recordings, timedelta):
            return
        now = self._clock()
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        keep, where = speech.keep_recordings, speech.record_dir
        gone = await asyncio.to_thread(sweep_recordings, where, keep, now)
        if gone:
            log.info("ivr.recordings_deleted", extra={"count": len(gone), "dir": str(where)})

    def expect(self, attempt_id: str, lease: LeasedContact) -> None:
        self._expected[attempt_id] = lease

    def expects(self, attempt_id: str) -> bool:
        return attempt_id in self._expected

    def take_result(self, attempt_id: str) -> IvrResult | None:
        """The script's result for a call that has ended (None if no script ran)."""
        self._expected.pop(attempt_id, None)
        return self._results.pop(attempt_id, None)

    async def run(self, session: CallChannel, attempt_id: str) -> None:
        """Run the script on a call this campaign expects."""
        lease = self._expected[attempt_id]
        self.sessions += 1
        call = CallContext(
            attempt_id=attempt_id,
            number=lease.number,
            campaign=self._campaign,
            name=lease.name,
            fields=lease.fields,
            timezone=lease.timezone,
        )
        resume = session.variables.get("resume") or None

        async def opted_out(ctx: CallContext) -> None:
            await self._opt_out(ctx.number, ctx.attempt_id)

        stream = None
        channel: CallChannel
        if self.media is not None and isinstance(session, AgiSession):
            channel = stream = StreamChannel(session, self.media)
        elif self._playable:
            channel = PromptFilesChannel(session, self._playable)
        else:
            channel = session
        try:
            result = await run_script(
                self._script,
                channel,
                call,
                self._recognizer,
                self._clock,
                start_at=resume,
                on_optout=opted_out,
                voices=self._voices,
            )
        finally:
            if stream is not None:  # the AudioSocket connection ends with the script
                await stream.close()
        earlier = self._results.get(attempt_id)
        self._results[attempt_id] = result if earlier is None else _merge(earlier, result)
        await self.sweep_recordings()
        log.info(
            "ivr.script_ended",
            extra={
                "attempt": attempt_id,
                "ended_by": str(result.ended_by),
                "steps": len(result.steps),
            },
        )


async def attempt_of(session: CallChannel) -> str | None:
    """The attempt a FastAGI session belongs to: `?attempt=` in the AGI URL, else the
    channel's DIALER_ATTEMPT."""
    attempt_id = session.variables.get("attempt") or await session.get_variable("DIALER_ATTEMPT")
    return attempt_id or None


class AgiRouter:
    """One FastAGI server for every IVR campaign of a process: each session goes to the
    campaign that placed its call."""

    def __init__(self) -> None:
        self._campaigns: list[IvrCalls] = []
        self.unknown_sessions = 0

    def add(self, calls: IvrCalls) -> None:
        self._campaigns.append(calls)

    def remove(self, calls: IvrCalls) -> None:
        if calls in self._campaigns:
            self._campaigns.remove(calls)

    async def handle(self, session: CallChannel) -> None:
        attempt_id = await attempt_of(session)
        for calls in self._campaigns:
            if attempt_id is not None and calls.expects(attempt_id):
                await calls.run(session, attempt_id)
                return
        self.unknown_sessions += 1
        log.warning("ivr.unknown_call", extra={"attempt": attempt_id or "?"})
        await session.hangup()


def _merge(first: IvrResult, then: IvrResult) -> IvrResult:
    """A call that came back from the queue runs the transfer's on_no_answer step in a
    second session: keep what the first one collected."""
    merged = IvrResult(
        answers={**first.answers, **then.answers},
        survey={**first.survey, **then.survey},
        temperature=then.temperature or first.temperature,
        disposition=then.disposition or first.disposition,
        fields={**first.fields, **then.fields},
        callback_at=then.callback_at or first.callback_at,
        optout=first.optout or then.optout,
        transfer=first.transfer,
        steps=[*first.steps, *then.steps],
        ended_by=then.ended_by,
        error=then.error or first.error,
        machine=first.machine or then.machine,
    )
    return merged
