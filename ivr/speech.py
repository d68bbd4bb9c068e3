"""Offline speech recognition with Vosk, constrained by the phrases a step expects.

The interpreter records the caller's answer (Asterisk `RECORD FILE ... wav`: 8 kHz mono
16-bit) and asks a `SpeechRecognizer` (ivr.recognition) what was said, giving the phrases
the step listens for. `VoskRecognizer` is the real one:

- one Vosk model per language, from a directory the campaign configures; each model is
  loaded once per process (module cache), however many recognisers use it;
- the step's phrases become a Vosk grammar, so "да"/"нет" is a choice between a few
  words rather than open dictation: faster and far more accurate on the phone. Big
  (server) models cannot take a grammar; they fall back to free recognition, and the
  caller matches phrases in the free text;
- recognisers are pooled per (model, grammar): a fresh KaldiRecognizer builds its
  decoding graph during its first utterance (measured with the small Korean model: 0.8 s
  for free recognition against 30 ms reused; a two-word grammar is cheap to build, but
  grammars of many phrases are not);
- decoding runs on a small thread pool, never on the event loop.

Confidence is the mean of the per-word `conf` values Vosk reports, 0 when nothing (or only
"[unk]") was heard. A result below the threshold (`VoskRecognizer.threshold`, the
campaign's `speech.confidence`) still carries its text, for the call log, but the caller
treats it as no match: the interpreter does, whatever intent the text would match.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import unicodedata
import wave
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import vosk

from ivr import prompts
from ivr.recognition import NO_MATCH, Recognition

log = logging.getLogger("ivr.speech")

UNKNOWN = "[unk]"  # Vosk's out-of-grammar token
MODELS_PAGE = "https://alphacephei.com/vosk/models"
# Where error messages tell users to put the model directory; the composition root
# passes the campaign schema's key ("{lang}" is replaced by the language).
DEFAULT_SETTING = "ivr.speech.models.{lang}"
# The small models we document; any Vosk model directory works.
SUGGESTED_MODELS = {"ru": "vosk-model-small-ru-0.22", "en": "vosk-model-small-en-us-0.15"}

# Kaldi's own chatter (model loading, per-utterance LOG lines) goes to stderr and would
# drown the dialer's log; -1 keeps its warnings and errors.
vosk.SetLogLevel(-1)


class SpeechError(Exception):
    """Recognition could not run (as opposed to: ran and heard nothing)."""


class SpeechModelError(SpeechError):
    """No usable Vosk model for a language."""


class SpeechAudioError(SpeechError):
    """The recording is missing or cannot be decoded."""


# --- models: loaded once per process --------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    model: vosk.Model
    grammars: bool  # small ("lookahead") models accept a runtime grammar; big ones do not
    knows_unk: bool  # whether "[unk]" is in the vocabulary (not in every small model)

    def knows(self, word: str) -> bool:
        index: int = self.model.vosk_model_find_word(word)  # -1: not in the vocabulary
        return index >= 0


_models: dict[Path, LoadedModel] = {}
# One lock for all loads: loading takes seconds and a lot of memory, two at once would
# only slow both down; and it makes "load once" hold when two calls race for the model.
_models_lock = threading.Lock()


def load_model(path: Path, language: str = "", setting: str = DEFAULT_SETTING) -> LoadedModel:
    """The model at `path`, loaded on first use and kept for the life of the process.

    `language` and `setting` only make the error messages say what to download and
    which setting to change."""
    key = path.expanduser().resolve()
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            loaded = _load(key, language, setting.format(lang=language or "<lang>"))
            _models[key] = loaded
        return loaded


def loaded_models() -> dict[Path, LoadedModel]:
    with _models_lock:
        return dict(_models)


def _load(path: Path, language: str, setting: str) -> LoadedModel:
    if not path.is_dir():
        raise SpeechModelError(_missing_model_message(language, path, setting))
    if not any((path / p).is_file() for p in ("am/final.mdl", "final.mdl")):
        raise SpeechModelError(
            f"{path} is not a Vosk model directory (no am/final.mdl): point {setting} at "
            "the unpacked model folder (the one holding am/, conf/ and graph/)"
        )
    started = time.perf_counter()
    try:
        model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise SpeechModelError(f"Vosk could not load the model at {path}: {exc}") from exc
    # Lookahead models (the small ones) ship HCLr.fst + Gr.fst and compose the graph at
    # run time, which is what a grammar needs; big models ship a static HCLG.fst.
    grammars = any((path / p).is_file() for p in ("graph/HCLr.fst", "HCLr.fst"))
    loaded = LoadedModel(path, model, grammars, model.vosk_model_find_word(UNKNOWN) >= 0)
    log.info(
        "loaded Vosk model %s in %.1f s (grammars: %s)",
        path,
        time.perf_counter() - started,
        "yes" if grammars else "no, free recognition",
    )
    return loaded


def _missing_model_message(language: str, path: Path, setting: str) -> str:
    lang = language or "<lang>"
    name = SUGGESTED_MODELS.get(language.split("-")[0], f"a small Vosk model for '{lang}'")
    return (
        f"no Vosk model for language '{lang}' at {path}: download {name} from "
        f"{MODELS_PAGE}, unpack it and set {setting} to its directory"
    )


# --- recognisers: pooled per (model, grammar) -------------------------------------------

Grammar = tuple[str, ...] | None  # None: free recognition


class KaldiRecognizerPool:
    """Idle KaldiRecognizers per (model path, grammar), handed out one caller at a time.

    A KaldiRecognizer is not thread-safe, so each is used by one decode at a time; the
    pool grows to the number of concurrent decodes of a grammar and keeps at most
    `max_idle` of them afterwards."""

    def __init__(self, max_idle: int = 4) -> None:
        self._max_idle = max_idle
        self._idle: dict[tuple[Path, Grammar], list[vosk.KaldiRecognizer]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def lease(self, model: LoadedModel, grammar: Grammar) -> Iterator[vosk.KaldiRecognizer]:
        key = (model.path, grammar)
        with self._lock:
            idle = self._idle.get(key)
            recognizer = idle.pop() if idle else None
        if recognizer is None:
            recognizer = _new_recognizer(model, grammar)
        else:
            recognizer.Reset()
        yield recognizer
        # Not reached when the decode raised: a recogniser in an unknown state is dropped.
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self._max_idle:
                idle.append(recognizer)

    def idle_count(self, model: LoadedModel, grammar: Grammar) -> int:
        with self._lock:
            return len(self._idle.get((model.path, grammar), ()))

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()


def _new_recognizer(model: LoadedModel, grammar: Grammar) -> vosk.KaldiRecognizer:
    recognizer: vosk.KaldiRecognizer | None = None
    if grammar is not None:
        try:
            recognizer = vosk.KaldiRecognizer(
                model.model, prompts.SAMPLE_RATE, json.dumps(list(grammar), ensure_ascii=False)
            )
        except Exception:  # a model that refuses grammars: recognise freely instead
            log.warning("model %s rejected a grammar; using free recognition", model.path)
    if recognizer is None:
        recognizer = vosk.KaldiRecognizer(model.model, prompts.SAMPLE_RATE)
    recognizer.SetWords(True)  # per-word "conf" values, our confidence
    return recognizer


POOL = KaldiRecognizerPool()


_JOINERS = "-'"


def vocabulary_form(phrase: str) -> str:
    """A phrase as Vosk vocabularies spell words: lower case, no punctuation, so the
    script may say "Да, конечно!" and still be recognised. Hyphens and apostrophes
    inside a word stay ("кто-нибудь", "don't"): vocabularies hold such words whole."""
    folded = unicodedata.normalize("NFKC", phrase).casefold().replace("’", "'")
    kept = [c if c in _JOINERS or unicodedata.category(c)[0] not in "PSZC" else " " for c in folded]
    words = (word.strip(_JOINERS) for word in "".join(kept).split())
    return " ".join(word for word in words if word)


def grammar_for(model: LoadedModel, phrases: Sequence[str]) -> Grammar:
    """The Vosk grammar for a step's phrases, or None for free recognition.

    Phrases with a word the model does not know are left out (Vosk would drop them with
    only a Kaldi warning); with none left, or a model without grammar support, the
    recogniser listens freely and the caller matches phrases in the text."""
    if not model.grammars:
        return None
    known: list[str] = []
    for phrase in dict.fromkeys(vocabulary_form(p) for p in phrases):
        spelt = [(word, _spelling(model, word)) for word in phrase.split()]
        missing = [word for word, spelling in spelt if spelling is None]
        if missing:
            _warn_once(model.path, phrase, missing)
        elif phrase:
            known.append(" ".join(spelling for _, spelling in spelt if spelling))
    if not known:
        return None
    # "[unk]" gives out-of-grammar speech somewhere to go, so "maybe later" is not forced
    # into "yes"; models without it in their vocabulary cannot offer that.
    return (*known, UNKNOWN) if model.knows_unk else tuple(known)


def _spelling(model: LoadedModel, word: str) -> str | None:
    """The word (or words) as the model spells it, or None when it cannot."""
    # Russian vocabularies differ on "ё" ("всё" / "все"), and script authors write it or
    # not: try the other spelling.
    for candidate in dict.fromkeys((word, word.replace("ё", "е"), word.replace("е", "ё"))):
        if model.knows(candidate):
            return candidate
    if "-" in word:  # "по-моему" may only be known as "по моему"
        parts = [_spelling(model, part) for part in word.split("-") if part]
        if parts and all(parts):
            return " ".join(p for p in parts if p)
    return None


_warned: set[tuple[Path, str]] = set()


def _warn_once(path: Path, phrase: str, missing: list[str]) -> None:
    if (path, phrase) not in _warned:
        _warned.add((path, phrase))
        log.warning(
            "phrase %r cannot be recognised with %s: unknown word(s) %s", phrase, path, missing
        )


# --- decoding ---------------------------------------------------------------------------


def read_pcm_8k(wav: Path) -> bytes:
    """The recording as raw 8 kHz mono 16-bit frames; other formats are converted."""
    try:
        with wave.open(str(wav), "rb") as w:
            if prompts.is_asterisk_format(w):
                return w.readframes(w.getnframes())
    except FileNotFoundError as exc:
        raise SpeechAudioError(
            f"recording {wav} not found (does the dialer see Asterisk's recording "
            "directory at the same path?)"
        ) from exc
    except (wave.Error, EOFError):
        pass  # not PCM WAV (e.g. GSM "WAV"): pydub/ffmpeg below
    try:
        return prompts.to_pcm_8k(prompts.decode_audio(wav))
    except (prompts.AudioDecodeError, OSError) as exc:
        raise SpeechAudioError(f"recording {wav} cannot be decoded: {exc}") from exc


def decode_utterance(recognizer: vosk.KaldiRecognizer, pcm: bytes) -> Recognition:
    """Feed a whole utterance and turn Vosk's final result into a Recognition."""
    recognizer.AcceptWaveform(pcm)
    result = json.loads(recognizer.FinalResult())
    words = [w for w in result.get("result", ()) if w.get("word") != UNKNOWN]
    if not words:
        return NO_MATCH
    confidence = sum(float(w.get("conf", 0.0)) for w in words) / len(words)
    return Recognition(vocabulary_form(" ".join(w["word"] for w in words)), round(confidence, 4))


class VoskRecognizer:
    """A `SpeechRecognizer` over Vosk models configured per language (e.g. {"ru": Path(...)}).

    `threshold`: results with a lower confidence carry their text but are no match for
    the caller. `workers`: concurrent decodes; decoding is CPU-bound, so more threads
    than cores only adds latency to every call. `setting`: the configuration key error
    messages name ("{lang}" is replaced)."""

    def __init__(
        self,
        models: Mapping[str, Path],
        threshold: float = 0.5,
        *,
        workers: int | None = None,
        setting: str = DEFAULT_SETTING,
        pool: KaldiRecognizerPool = POOL,
    ) -> None:
        self.models = {lang.lower(): Path(path) for lang, path in models.items()}
        self.threshold = threshold
        self.setting = setting
        self._pool = pool
        self._executor = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 1, thread_name_prefix="vosk"
        )

    def model_path(self, language: str) -> Path:
        lang = language.lower()
        # "ru-RU" uses the "ru" model unless a regional one is configured.
        path = self.models.get(lang) or self.models.get(lang.split("-")[0])
        if path is None:
            configured = ", ".join(sorted(self.models)) or "none"
            raise SpeechModelError(
                f"no Vosk model configured for language '{language}' (configured: "
                f"{configured}); set {self.setting.format(lang=lang)} to a model directory"
            )
        return path

    def load(self, language: str) -> LoadedModel:
        """Load (once) the model for a language; blocking, seconds on first use."""
        return load_model(self.model_path(language), language, self.setting)

    async def warm_up(self, languages: Sequence[str] | None = None) -> None:
        """Load the models before the first call needs them (at campaign start), so a
        missing model fails the start rather than the first answered call."""
        loop = asyncio.get_running_loop()
        for language in languages if languages is not None else list(self.models):
            await loop.run_in_executor(self._executor, self.load, language)

    async def recognize(self, wav: Path, phrases: Sequence[str], language: str) -> Recognition:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self.recognize_blocking, wav, tuple(phrases), language
        )

    def recognize_blocking(self, wav: Path, phrases: Sequence[str], language: str) -> Recognition:
        started = time.perf_counter()
        model = self.load(language)
        pcm = read_pcm_8k(wav)
        grammar = grammar_for(model, phrases)
        with self._pool.lease(model, grammar) as recognizer:
            result = decode_utterance(recognizer, pcm)
        # Transcripts are personal data: DEBUG only.
        log.debug(
            "%s: %r conf %.2f (%s) in %.0f ms for %.2f s of audio",
            wav.name,
            result.text,
            result.confidence,
            "grammar" if grammar else "free",
            (time.perf_counter() - started) * 1000,
            len(pcm) / (prompts.SAMPLE_RATE * prompts.SAMPLE_WIDTH),
        )
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
