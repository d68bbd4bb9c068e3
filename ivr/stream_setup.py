"""Starting the media path of a campaign with `on_answer.media: stream`: the AudioSocket
server (one per process, shared by the campaigns), the prompts decoded, the Vosk model
loaded, all before the first call, so a missing prompt or model stops the start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ivr.audiosocket import AudioSocketServer
from ivr.prompt_audio import PromptAudio, PromptAudioError
from ivr.script import IvrScript
from ivr.stream_channel import StreamMedia
from ivr.stream_recognition import StreamingRecognizer


class StreamSetupError(Exception):
    """The media path cannot start (say which prompt, model or port, and why)."""


async def start_server(host: str, port: int) -> AudioSocketServer:
    server = AudioSocketServer(host, port)
    try:
        await server.start()
    except OSError as exc:
        raise StreamSetupError(
            f"the AudioSocket media server cannot listen on {host}:{port}: {exc.strerror}"
        ) from exc
    return server


async def stream_media(
    script: IvrScript,
    server: AudioSocketServer,
    address: str,
    playable: Mapping[str, str],
    sounds_dirs: Sequence[Path],
) -> StreamMedia:
    """The media every call of the campaign shares; raises StreamSetupError."""
    audio = PromptAudio(playable, sounds_dirs)
    for step in script.steps.values():
        for _, sound in step.sounds():
            try:
                await audio.pcm(sound)
            except PromptAudioError as exc:
                raise StreamSetupError(str(exc)) from exc
    speech = script.speech
    if speech is None:
        raise StreamSetupError(
            "on_answer.media: stream is for speech steps: add ivr.speech (the Vosk model)"
        )
    recognizer = StreamingRecognizer(
        {script.language: speech.model_dir},
        speech.confidence,
        setting="ivr.speech.model_dir",
    )
    try:
        await recognizer.warm_up([script.language])
    except Exception as exc:  # ivr.speech.SpeechError: no model, unreadable model
        raise StreamSetupError(str(exc)) from exc
    end_silence_ms = int(speech.end_silence.total_seconds() * 1000)
    return StreamMedia(server, address, audio, recognizer, end_silence_ms)
