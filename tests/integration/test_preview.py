"""`dialer preview` as a user runs it: a real contact base file, a real campaign file,
the real process; counts checked against what the rules say of each contact."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from dialer.outcomes import ContactStatus, Outcome
from dialer.store import open_store
from dialer.store.base import AttemptResult, NewContact, NextStep
from tests.integration.test_cli import run_dialer

# A Wednesday, 15:00 UTC: 18:00 in Moscow, 01:00 next day in Vladivostok, 08:00 in Phoenix.
AT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def campaign_file(tmp_path: Path, **compliance: object) -> Path:
    data = {
        "name": "spring",
        "list": "people",
        "ami": {"secret_env": "DIALER_AMI_SECRET"},
        "dial": {"channel": "Local/{number}@callees"},
        "compliance": {"calling_hours": {"mon-sun": "09:00-21:00"}, **compliance},
        "retry": {"max_attempts": 3, "no_answer": {"delay": "1h", "max": 2}},
    }
    path = tmp_path / "spring.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def base(tmp_path: Path) -> Path:
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    await store.import_contacts(
        "people",
        [
            NewContact("+74951234567"),  # Moscow: open
            NewContact("+74951234568"),  # Moscow, on the do-not-call list
            NewContact("+74232123456"),  # Vladivostok: closed at night
            NewContact("+79123456789"),  # a mobile: eleven offsets, some open, some not
            NewContact("+16025550123"),  # Phoenix: 08:00, closed
            NewContact("+74951234569"),  # Moscow, retry not yet due
            NewContact("+74951234570"),  # Moscow, already final
        ],
    )
    await store.add_do_not_call(["+74951234568"], "cli", AT)
    record = await store.open_campaign("spring", "people", AT - timedelta(hours=1))
    leases = {
        lease.number: lease
        for lease in await store.lease_due(record.id, AT - timedelta(minutes=30), 10)
    }
    for number, step in (
        ("+74951234569", NextStep(ContactStatus.PENDING, due_at=AT + timedelta(hours=1))),
        ("+74951234570", NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED)),
    ):
        attempt = f"a-{number}"
        await store.start_attempt(leases[number], attempt, AT - timedelta(minutes=30))
        outcome = Outcome.NO_ANSWER if step.status is ContactStatus.PENDING else Outcome.ANSWERED
        await store.finish_attempt(
            AttemptResult(attempt, outcome, AT - timedelta(minutes=29)), step
        )
    others = [lease.contact_id for n, lease in leases.items() if n not in {
        "+74951234569", "+74951234570"}]  # fmt: skip
    await store.release_leases(record.id, [(c, AT - timedelta(minutes=30)) for c in others])
    await store.close()
    return db


async def test_preview_counts_due_and_held_by_reason(tmp_path: Path) -> None:
    db = await base(tmp_path)
    code, out, err = await run_dialer(
        "--db", str(db), "preview", str(campaign_file(tmp_path)), "--at", AT.isoformat(),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    assert shown["due"] == 1
    held = {reason: count for reason, count in shown["held"].items() if count}
    assert held == {"window_closed": 2, "ambiguous_zone": 1, "dnc": 1, "not_yet_due": 1}
    assert (shown["final"], shown["total"]) == (1, 7)


async def test_preview_before_the_campaign_ever_ran_and_an_hour_later(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    store = await open_store(db)
    await store.import_contacts("people", [NewContact("+74951234567"), NewContact("+16025550123")])
    await store.close()
    path = campaign_file(tmp_path)
    code, out, _ = await run_dialer("--db", str(db), "preview", str(path), "--at",
                                    "2026-12-02T15:00", "--format", "json")  # fmt: skip
    assert code == 0 and json.loads(out)["due"] == 1  # Phoenix is at 08:00
    code, out, _ = await run_dialer("--db", str(db), "preview", str(path), "--at",
                                    "2026-12-02T17:00+01:00")  # fmt: skip
    assert code == 0
    assert "2 of 2 contacts due" in out  # 16:00 UTC: 09:00 in Phoenix


async def test_preview_errors_are_plain(tmp_path: Path) -> None:
    db = await base(tmp_path)
    path = campaign_file(tmp_path)
    code, _, err = await run_dialer("--db", str(db), "preview", str(path), "--at", "tomorrow")
    assert code == 2 and "--at 'tomorrow': expected an ISO time" in err
    other = tmp_path / "other.yaml"
    other.write_text(path.read_text().replace("list: people", "list: nobody"))
    code, _, err = await run_dialer("--db", str(db), "preview", str(other))
    assert code == 2 and "list 'nobody' is not in the contact base" in err
    assert "Traceback" not in err
