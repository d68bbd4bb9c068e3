"""`dialer contacts stats` and `dialer lists build` as a user runs them: real processes,
a real SQLite file, campaigns through the simulated PBX."""

from __future__ import annotations

import json
from pathlib import Path

from dialer.simpbx import SimulatedPbx
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.integration.conftest import numbers
from tests.integration.test_cli import run_dialer, write_campaign


async def _base(tmp_path: Path) -> Path:
    """List "spring": 20 numbers (last digit = simulated persona), half of them warm,
    a last_order date on each (older the higher the index)."""
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    await store.import_contacts(
        "spring",
        [
            NewContact(
                n,
                fields={
                    "temperature": "warm" if i % 2 else "cold",
                    "last_order": f"{2026 - i // 10}-01-15",
                },
            )
            for i, n in enumerate(numbers(20))
        ],
    )
    await store.close()
    return db


async def test_given_a_campaign_ran_when_stats_then_base_by_status_and_the_campaigns_changes(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await _base(tmp_path)
    campaign = write_campaign(tmp_path / "c.yaml", pbx.port, retry={"max_attempts": 1})
    code, _, err = await run_dialer("--db", str(db), "run", str(campaign), "--no-progress")
    assert code == 0, err

    code, out, err = await run_dialer("--db", str(db), "contacts", "stats", "--format", "json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["contacts"] == 20
    # Per ten numbers: 4 invalid (dead); 0 and 8 answer, 5 answers and hangs up, 6 is
    # taken by an operator (reached); 1, 2, 3, 7 (abandoned) and 9 end as done.
    assert stats["status"] == {
        "dnc": 0,
        "dead": 2,
        "pending": 0,
        "reached": 8,
        "done": 10,
        "new": 0,
    }
    assert stats["temperature"] == {"warm": 10, "cold": 10}
    last = stats["last_campaign"]
    assert (last["name"], last["called"], last["dead"], last["dnc"]) == ("spring-promo", 20, 2, 0)

    code, out, err = await run_dialer("--db", str(db), "contacts", "stats", "--list", "spring")
    assert code == 0, err
    assert "Last campaign 'spring-promo'" in out and "dead +2" in out


async def test_given_filter_when_build_then_preview_counts_and_new_list_is_dialled_alone(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await _base(tmp_path)
    campaign = write_campaign(tmp_path / "c.yaml", pbx.port, retry={"max_attempts": 1})
    code, _, err = await run_dialer("--db", str(db), "run", str(campaign), "--no-progress")
    assert code == 0, err
    first_round = len(pbx.originates)
    where = "last_outcome in (busy, no_answer) and temperature = warm"
    build = ("--db", str(db), "lists", "build", "again", "--from", "spring", "--where", where)

    code, out, err = await run_dialer(*build, "--preview")
    assert code == 0, err
    # Odd indexes are warm: 1 (busy), 9 (no answer), 11 (busy), 19 (no answer).
    assert "4 of 20 contacts of list 'spring' match" in out
    store = await open_store(db)
    assert "again" not in await store.list_names()
    await store.close()

    code, out, err = await run_dialer(*build)
    assert code == 0, err
    assert "list 'again': 4 contacts copied" in out
    again = write_campaign(
        tmp_path / "again.yaml",
        pbx.port,
        name="reactivate",
        list="again",
        retry={"max_attempts": 1},
    )
    code, _, err = await run_dialer("--db", str(db), "run", str(again), "--no-progress")
    assert code == 0, err
    nums = numbers(20)
    dialled = sorted(o.number[-11:] for o in pbx.originates[first_round:])
    assert dialled == sorted(nums[i][-11:] for i in (1, 9, 11, 19))

    code, _, err = await run_dialer(*build)  # the list exists now
    assert code == 2 and "already exists" in err


async def test_given_issue_examples_when_preview_then_counts(tmp_path: Path) -> None:
    db = await _base(tmp_path)
    order = ("--db", str(db), "lists", "build", "x", "--from", "spring", "--preview", "--where")
    code, out, err = await run_dialer(*order, "field last_order < today - 90d")
    assert code == 0, err
    assert "20 of 20" in out  # every order is from January of 2026 or 2025
    code, out, err = await run_dialer(*order, "field", "last_order", "<", "2026-01-01")
    assert code == 0, err
    assert "10 of 20" in out  # the words of the filter may come unquoted, one by one
    code, out, err = await run_dialer(
        *order, "temperature = warm and (last_contacted > 30d or last_contacted is not set)"
    )
    assert code == 0, err
    assert "10 of 20" in out  # never called: no last_contacted


async def test_given_bad_filter_or_names_when_build_then_clear_error_exit_2_no_traceback(
    tmp_path: Path,
) -> None:
    db = await _base(tmp_path)
    base = ("--db", str(db), "lists", "build")
    spring = ("--from", "spring", "--where")
    cases = [
        # Positions and expectations are the unit tests' (test_list_filter.py); here, the
        # user's text comes back intact ("[/b]" is no terminal markup) under a caret.
        (("x", *spring, 'field a = "[/b]" or'), "position 20: expected a condition"),
        (("x", "--from", "nope", "--where", "dead"), "unknown contact list 'nope'"),
        (("bad name", *spring, "dead"), "list name 'bad name'"),
        (("spring", *spring, "dead"), "'spring' already exists"),
    ]
    errors = []
    for args, message in cases:
        code, out, err = await run_dialer(*base, *args)
        assert code == 2, (args, out, err)
        assert message in err, err
        assert "Traceback" not in err
        errors.append(err)
    assert '  field a = "[/b]" or\n' + " " * 21 + "^" in errors[0]
    code, _, err = await run_dialer("--db", str(db), "contacts", "stats", "--list", "nope")
    assert code == 2 and "unknown contact list 'nope'" in err and "Traceback" not in err
    # A filter no contact matches creates nothing, and says so.
    code, out, err = await run_dialer(*base, "none", "--from", "spring", "--where", "dead")
    assert code == 1 and "not created" in out
    store = await open_store(db)
    assert await store.list_names() == ["spring"]
    await store.close()
