"""The recorded traces in tests/fixtures/asterisk-traces/ and the recorder that makes them
(tests/asterisk/record_traces.py, run by scripts/record-traces) must agree: one file per
scenario, no stray files, each file recorded by the scenario it is named after."""

from __future__ import annotations

from tests.asterisk.record_traces import FIXTURES_DIR, SCENARIOS
from tests.traces import TRACES_DIR


def test_the_tests_read_the_folder_the_recorder_writes() -> None:
    assert FIXTURES_DIR == TRACES_DIR


def test_every_scenario_has_its_recording_and_every_recording_its_scenario() -> None:
    recorded = {path.stem for path in TRACES_DIR.glob("*.txt")}
    assert sorted(set(SCENARIOS) - recorded) == [], "not recorded: run scripts/record-traces"
    assert sorted(recorded - set(SCENARIOS)) == [], "no scenario in record_traces.py records these"


def test_each_file_names_its_scenario_and_the_readme_lists_it() -> None:
    readme = (TRACES_DIR / "README.md").read_text()
    for name in SCENARIOS:
        head = (TRACES_DIR / f"{name}.txt").read_bytes()[:200].decode(errors="replace")
        assert f"\n#@ name: {name}\n" in head
        assert f"`{name}.txt`" in readme
