"""Streaming Vosk recognition: the caller's 20 ms frames are decoded as they arrive, so
the words are known a few milliseconds after the caller stops, not after a recording is
written and read back.

    utterance = await recognizer.start(phrases, "ru")
    utterance.feed(frame)         # from the media stream, on the event loop, never blocks
    heard = await utterance.finish()   # Recognition, once the VAD says the turn ended

The model and grammar handling are ivr.speech's (one model per language and process,
the step's phrases as a Vosk grammar, KaldiRecognizers pooled per grammar). Each
utterance feeds its frames to its KaldiRecognizer in order on a shared thread pool
(`AcceptWaveform` per 20 ms frame; the frames that queued while a decode ran are fed in
one hop), so many calls share the cores without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import vosk

from ivr.recognition import NO_MATCH, Recognition
from ivr.speech import (
    DEFAULT_SETTING,
    POOL,
    UNKNOWN,
    KaldiRecognizerPool,
    VoskRecognizer,
    grammar_for,
    vocabulary_form,
)


def recognition_of(result_json: str) -> Recognition:
    """Vosk's final result as a Recognition (mean word confidence, "[unk]" left out)."""
    result = json.loads(result_json)
    words = [w for w in result.get("result", ()) if w.get("word") != UNKNOWN]
    if not words:
        return NO_MATCH
    confidence = sum(float(w.get("conf", 0.0)) for w in words) / len(words)
    return Recognition(vocabulary_form(" ".join(w["word"] for w in words)), round(confidence, 4))


class Utterance:
    """One turn of the caller being decoded; feed() frames, then finish() or cancel()."""

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        lease: contextlib.AbstractContextManager[vosk.KaldiRecognizer],
        recognizer: vosk.KaldiRecognizer,
    ) -> None:
        self._executor = executor
        self._lease = lease  # entered: `recognizer` is what it handed out
        self._recognizer = recognizer
        self._pending: list[bytes] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._decode_loop())
        self.frames = 0

    def feed(self, frame: bytes) -> None:
        if not self._closing:
            self._pending.append(frame)
            self.frames += 1
            self._wake.set()

    async def _decode_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                await loop.run_in_executor(self._executor, self._accept, batch)
            if self._closing and not self._pending:
                return

    def _accept(self, frames: list[bytes]) -> None:
        for frame in frames:
            self._recognizer.AcceptWaveform(frame)

    async def finish(self) -> Recognition:
        """What was said in the frames fed so far; the recogniser goes back to the pool."""
        self._closing = True
        self._wake.set()
        try:
            await self._task
            text = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._recognizer.FinalResult
            )
        except BaseException:
            self._task.cancel()
            raise  # the recogniser is in an unknown state: not returned to the pool
        self._lease.__exit__(None, None, None)
        return recognition_of(text)

    async def cancel(self) -> None:
        """Drop the utterance (no speech, or the caller hung up): the frames not decoded
        yet are dropped, and once the decode under way ends the recogniser goes back to
        the pool (leased again, it is Reset)."""
        if self._closing and self._task.done():
            return
        self._closing = True
        self._pending.clear()
        self._wake.set()
        try:
            await self._task
        except BaseException:
            self._task.cancel()
            raise  # not returned to the pool: a decode may still use it
        self._lease.__exit__(None, None, None)


class StreamingRecognizer:
    """Starts utterances on the Vosk models configured per language."""

    def __init__(
        self,
        models: Mapping[str, Path],
        threshold: float = 0.5,
        *,
        workers: int | None = None,
        setting: str = DEFAULT_SETTING,
        pool: KaldiRecognizerPool = POOL,
    ) -> None:
        # The file recogniser knows the models and loads them once per process.
        self._files = VoskRecognizer(models, threshold, workers=1, setting=setting, pool=pool)
        self.threshold = threshold
        self._pool = pool
        self._executor = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 1, thread_name_prefix="vosk-stream"
        )

    async def warm_up(self, languages: Sequence[str]) -> None:
        await self._files.warm_up(languages)

    async def start(self, phrases: Sequence[str], language: str) -> Utterance:
        loop = asyncio.get_running_loop()
        model = await loop.run_in_executor(self._executor, self._files.load, language)
        lease = self._pool.lease(model, grammar_for(model, phrases))
        # A new recogniser builds its grammar's graph: not on the event loop.
        recognizer = await loop.run_in_executor(self._executor, lease.__enter__)
        return Utterance(self._executor, lease, recognizer)

    def close(self) -> None:
        self._files.close()
        self._executor.shutdown(wait=True, cancel_futures=True)
