"""Small modules with one job each: no product module outside the simulator grows past
the size at which it starts doing two jobs (the foundation issue's limit)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 450


def test_no_product_module_is_over_the_size_limit() -> None:
    too_big = {}
    for package in ("dialer", "ivr"):
        for path in (ROOT / package).rglob("*.py"):
            if "simpbx" in path.parts:
                continue  # the simulated Asterisk: test equipment, held to its own tests
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                too_big[str(path.relative_to(ROOT))] = lines
    assert too_big == {}, f"split these modules (over {MAX_LINES} lines): {too_big}"
