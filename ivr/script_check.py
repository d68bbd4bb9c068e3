"""Checks of a whole IVR script that no single step can make alone.

    problems = check_script(script, sounds_dir=Path("sounds"))

Each problem carries the path of the value to fix inside the campaign file, e.g.
("ivr", "steps", "offer", "keys", "1"), so the campaign loader can print file:line:column.
Found: a start or a reference naming no step (with a did-you-mean), steps never reached,
loops with no way out, prompt files missing from sounds_dir, intents and survey choices
without phrases in the script's language (or sharing a phrase), multi-digit keys longer
than max_digits, speech steps without speech settings, say texts naming no voice or
spelling numbers in a language ivr.say_text does not know.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ivr.intents import normalise
from ivr.say_template import parse_template
from ivr.say_text import LANGUAGES as SPELLED_LANGUAGES
from ivr.script import IvrScript
from ivr.script_fields import Phrases, RelPath
from ivr.script_say import SayItem
from ivr.script_steps import AskStep, BaseStep, MenuStep, SurveyStep, needs_speech
from ivr.tts_settings import default_voice, voice_named

YamlPath = tuple[str | int, ...]

# Formats Asterisk plays from a file (format_* modules); a prompt exists if one is there.
SOUND_EXTENSIONS = (
    "wav", "gsm", "ulaw", "alaw", "sln", "mp3", "ogg",
    "ul", "al", "pcm", "sln16", "wav16", "g722", "g729",
)  # fmt: skip
_LISTED_AT_MOST = 8  # step names shown when a reference matches none closely


@dataclass(frozen=True)
class ScriptProblem:
    path: YamlPath  # where in the campaign file, from its top
    message: str
    at_key: bool = False  # point at the key itself (a mapping key is what is wrong)


def check_script(
    script: IvrScript, sounds_dir: Path | None, prefix: YamlPath = ("ivr",)
) -> list[ScriptProblem]:
    """Every problem of the script's graph, prompts and phrases; [] when it is sound."""
    return _Checker(script, prefix).run(sounds_dir)


class _Checker:
    def __init__(self, script: IvrScript, prefix: YamlPath) -> None:
        self.script = script
        self.prefix = prefix
        self.problems: list[ScriptProblem] = []

    def at(self, *path: str | int) -> YamlPath:
        return (*self.prefix, *path)

    def step_at(self, name: str, rel: RelPath) -> YamlPath:
        return self.at("steps", name, *rel)

    def add(self, path: YamlPath, message: str, at_key: bool = False) -> None:
        self.problems.append(ScriptProblem(path, message, at_key))

    def run(self, sounds_dir: Path | None) -> list[ScriptProblem]:
        steps = self.script.steps
        graph = self._graph()
        if self.script.start not in steps:
            self.add(self.at("start"), self._no_such_step(self.script.start))
        else:
            reached = _reachable(self.script.start, graph)
            reached |= self._machine_speech(graph)
            self._unreachable(reached)
            self._loops(reached, graph)
        for name, step in steps.items():
            self._per_step(name, step)
        if sounds_dir is not None:
            self._sounds(sounds_dir)
        return self.problems

    # --- the graph ------------------------------------------------------------------

    def _graph(self) -> dict[str, list[str | None]]:
        """Step -> the steps it leads to (None: the call ends there); bad names reported."""
        graph: dict[str, list[str | None]] = {}
        for name, step in self.script.steps.items():
            targets: list[str | None] = []
            for rel, target in step.references():
                if target is not None and target not in self.script.steps:
                    self.add(self.step_at(name, rel), self._no_such_step(target))
                    target = None  # reported once; for the loop check it leads nowhere
                targets.append(target)
            graph[name] = targets
        return graph

    def _no_such_step(self, name: str) -> str:
        known = list(self.script.steps)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            return f"no step named {name!r}; did you mean {close[0]!r}?"
        more = ", ..." if len(known) > _LISTED_AT_MOST else ""
        shown = ", ".join(known[:_LISTED_AT_MOST]) + more
        return f"no step named {name!r}; steps are: {shown}"

    def _unreachable(self, reached: set[str]) -> None:
        for name in self.script.steps:
            if name not in reached:
                self.add(
                    self.at("steps", name),
                    f"step {name!r} is never reached: no step leads to it from start "
                    f"{self.script.start!r}",
                )

    def _loops(self, reached: set[str], graph: Mapping[str, list[str | None]]) -> None:
        exits = {
            name
            for name, targets in graph.items()
            if self.script.steps[name].ends_script or None in targets
        }
        can_end = _reaching(exits, graph)
        stuck = {name for name in reached if name not in can_end}
        for loop in _closed_loops(stuck, graph, order=list(self.script.steps)):
            first = loop[0]
            if len(loop) == 1:
                what = f"step {first!r} leads only back to itself"
            else:
                what = "steps " + ", ".join(repr(n) for n in loop) + " lead only to each other"
            self.add(
                self.at("steps", first),
                f"{what}: a loop with no way out; give one of them a way to a hangup, "
                "optout or transfer step (e.g. a menu's on_timeout)",
            )

    def _machine_speech(self, graph: Mapping[str, list[str | None]]) -> set[str]:
        """The steps a machine's call can run (from on_machine); its problems reported."""
        settings = self.script.machine_speech
        if settings is None:
            return set()
        if self.script.speech is None:
            self.add(
                self.at("machine_speech"),
                "machine_speech recognises the first words: add ivr.speech with model_dir",
            )
        target = settings.on_machine
        if target is None:
            return set()
        if target not in self.script.steps:
            self.add(self.at("machine_speech", "on_machine"), self._no_such_step(target))
            return set()
        return _reachable(target, graph)

    # --- one step at a time -----------------------------------------------------------

    def _per_step(self, name: str, step: BaseStep) -> None:
        if needs_speech(step) and self.script.speech is None:
            self.add(
                self.step_at(name, ("kind",)),
                "this step recognises speech: add ivr.speech with model_dir "
                "(the Vosk model directory)",
            )
        if isinstance(step, MenuStep):
            self._menu_keys(name, step)
        elif isinstance(step, AskStep):
            self._phrases(
                name, "intents", {intent: spec.phrases for intent, spec in step.intents.items()}
            )
        elif isinstance(step, SurveyStep) and step.choices:
            self._phrases(name, "choices", step.choices)
        for rel, item in step.texts():
            self._text(name, rel, item)

    def _text(self, name: str, rel: RelPath, item: SayItem) -> None:
        tts, language = self.script.tts, self.script.language
        voice = item.voice or default_voice(tts, language)
        if voice_named(tts, voice) is None:
            known = [*(tts.voices if tts else ()), f"espeak-{language}"]
            path = (
                self.step_at(name, (*rel[:-1], "voice")) if item.voice else self.at("tts", "voice")
            )
            self.add(path, f"no voice named {voice!r}; voices are: {', '.join(known)}")
        typed = [p for p in parse_template(item.text or "").placeholders if p.type != "text"]
        if typed and language not in SPELLED_LANGUAGES:
            self.add(
                self.step_at(name, rel),
                f"{{{typed[0].field}:{typed[0].type}}}: numbers, money and dates are spelled "
                f"in {', '.join(SPELLED_LANGUAGES)}, not in the script's language {language!r}",
            )

    def _menu_keys(self, name: str, step: MenuStep) -> None:
        for key in step.keys:
            if len(key) > step.max_digits:
                self.add(
                    self.step_at(name, ("keys", key)),
                    f"key {key!r} has {len(key)} digits but max_digits is {step.max_digits}",
                    at_key=True,
                )

    def _phrases(self, name: str, section: str, phrases: Mapping[str, Phrases]) -> None:
        language = self.script.language
        owner: dict[str, str] = {}  # normalised phrase -> the intent (or choice) listing it
        for label, by_language in phrases.items():
            listed = by_language.get(language, [])
            if not listed:
                what = "intent" if section == "intents" else "choice"
                where = (section, label, "phrases") if section == "intents" else (section, label)
                self.add(
                    self.step_at(name, where),
                    f"{what} {label!r} has no phrases for the script's language "
                    f"{language!r}; add {language}: [...]",
                )
            for index, phrase in enumerate(listed):
                key = normalise(phrase)
                other = owner.setdefault(key, label)
                if other != label:
                    rel = (section, label, *(("phrases",) if section == "intents" else ()))
                    self.add(
                        self.step_at(name, (*rel, language, index)),
                        f"phrase {phrase!r} is also listed under {other!r}: "
                        "the answer would be ambiguous",
                    )

    # --- files --------------------------------------------------------------------------

    def _sounds(self, sounds_dir: Path) -> None:
        if not sounds_dir.is_dir():
            self.add(self.at("sounds_dir"), f"no such directory: {sounds_dir}")
            return
        found = _SoundFiles(sounds_dir, self.script.language)
        for name, step in self.script.steps.items():
            for rel, sound in step.sounds():
                if not found.exists(sound):
                    self.add(
                        self.step_at(name, rel),
                        f"no sound file for {sound!r} in {sounds_dir} "
                        f"(looked for {sound}.wav, .gsm, .ulaw, .alaw, .sln, .mp3, .ogg...)",
                    )


class _SoundFiles:
    """Which prompts exist in a sounds directory (Asterisk's <lang>/ subfolder counts)."""

    def __init__(self, root: Path, language: str) -> None:
        self.roots = (root, root / language)
        self.known: dict[str, bool] = {}

    def exists(self, sound: str) -> bool:
        if sound not in self.known:
            self.known[sound] = ".." not in Path(sound).parts and any(
                (root / f"{sound}.{ext}").is_file()
                for root in self.roots
                for ext in SOUND_EXTENSIONS
            )
        return self.known[sound]


# --- graph helpers (scripts are small: plain breadth-first searches are enough) -------------


def _reachable(start: str, graph: Mapping[str, list[str | None]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for target in graph[queue.popleft()]:
            if target is not None and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _reaching(targets: Iterable[str], graph: Mapping[str, list[str | None]]) -> set[str]:
    """Steps from which one of targets can be reached (targets included)."""
    backwards: dict[str, set[str]] = {name: set() for name in graph}
    for name, outs in graph.items():
        for out in outs:
            if out is not None:
                backwards[out].add(name)
    seen = set(targets)
    queue = deque(seen)
    while queue:
        for source in backwards[queue.popleft()]:
            if source not in seen:
                seen.add(source)
                queue.append(source)
    return seen


def _closed_loops(
    stuck: set[str], graph: Mapping[str, list[str | None]], order: list[str]
) -> list[list[str]]:
    """The loops stuck steps end up in: groups that reach only each other.

    Every way out of a stuck step leads to another stuck step, so each stuck step ends
    in such a group; reporting the groups (not every step leading into them) names the
    place to fix.
    """
    onward = {name: _onward(name, graph) for name in stuck}
    loops: list[list[str]] = []
    placed: set[str] = set()
    for name in order:
        if name not in stuck or name in placed:
            continue
        group = onward[name]
        if name in group and all(name in onward[other] for other in group):
            members = [n for n in order if n in group]
            placed.update(members)
            loops.append(members)
    return loops


def _onward(name: str, graph: Mapping[str, list[str | None]]) -> set[str]:
    """Steps reachable from name by at least one move (name itself only on a cycle)."""
    seen: set[str] = set()
    for target in graph[name]:
        if target is not None and target not in seen:
            seen |= _reachable(target, graph)
    return seen
