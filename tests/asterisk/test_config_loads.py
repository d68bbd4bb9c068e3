"""asterisk-config/ loads cleanly into a real Asterisk: no warnings about our files, and
the contexts and queue are there as written."""

from __future__ import annotations

import re

from tests.asterisk.private_asterisk import RealAsterisk

# Log sources that parse the files in asterisk-config/.
OUR_SOURCES = re.compile(
    r"(WARNING|ERROR)\[\d+\][^:]*: "
    r"(pbx_config|pbx\.c|app_queue|manager\.c|config\.c|res_musiconhold|indications|app_amd)"
)


def test_no_warnings_about_the_project_config(real_asterisk: RealAsterisk) -> None:
    log = real_asterisk.log_file.read_text(errors="replace")
    problems = [line for line in log.splitlines() if OUR_SOURCES.search(line)]
    assert not problems, "\n".join(problems)


def test_contexts_are_loaded(real_asterisk: RealAsterisk) -> None:
    for context in ("dialer-answered", "dialer-test-callees", "dialer-test-operators"):
        out = real_asterisk.cli(f"dialplan show {context}")
        assert f"Context '{context}'" in out, out


def test_operators_queue_has_the_two_test_members(real_asterisk: RealAsterisk) -> None:
    out = real_asterisk.cli("queue show dialer-operators")
    assert "'leastrecent' strategy" in out, out  # ringall serves one caller at a time
    assert "Local/op1@dialer-test-operators/n" in out
    assert "Local/op2@dialer-test-operators/n" in out
    assert "ringinuse disabled" in out
