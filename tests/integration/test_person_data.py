"""One person's data: `dialer contacts show` and `dialer contacts erase` against a real
base (a SQLite file, a private PostgreSQL) and real recording files on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.outcomes import Outcome
from dialer.store.base import NewContact, NumberInCall
from dialer.store.person_records import ERASURE_SOURCE, recording_paths
from tests.integration.test_cli import run_dialer
from tests.store_cases import (
    FINISHED,
    NUMBERS,
    RETRY_IN_1H,
    T0,
    done,
    dump_text,
    open_test_store,
    raw_rows,
)

PERSON = NUMBERS[0]  # +79120000000
OTHER = NUMBERS[1]


async def seed(path: Path | str, recordings: Path) -> dict[str, Path]:
    """The person on two lists, called by two campaigns (one answered call with two
    spoken answers recorded on disk); someone else on the same lists and calls."""
    recordings.mkdir()
    files = {name: recordings / f"att-2-{name}-1.wav" for name in ("consent", "feedback")}
    for file in files.values():
        file.write_bytes(b"RIFF....WAVE")
    kept = recordings / "att-other-consent-1.wav"
    kept.write_bytes(b"RIFF....WAVE")
    async with open_test_store(path) as store:
        await store.import_contacts(
            "clients",
            [
                NewContact(
                    PERSON,
                    "Иван Петров",
                    "Europe/Moscow",
                    {"city": "Тверь", "consent_date": "2024-05-01", "consent_scope": "all"},
                ),
                NewContact(OTHER, "Пётр", None, {"city": "Москва"}),
            ],
        )
        await store.import_contacts("vip", [NewContact(PERSON, "Ivan", None, {"tier": "gold"})])
        first = await store.open_campaign("spring", "clients", T0)
        second = await store.open_campaign("vip-call", "vip", T0)
        [lease, other] = await store.lease_due(first.id, T0, 2)
        await store.start_attempt(lease, "att-1", T0)
        await store.start_attempt(other, "att-other", T0)
        await store.finish_attempt(
            done("att-1", Outcome.NO_ANSWER, T0 + timedelta(seconds=30)), RETRY_IN_1H
        )
        answers = {
            "answers": {
                name: {"transcript": "да", "recording": str(file)} for name, file in files.items()
            },
            "temperature": "hot",
        }
        await store.finish_attempt(
            done("att-other", Outcome.ANSWERED, T0 + timedelta(seconds=40),
                 answers={"answers": {"consent": {"recording": str(kept)}}}),
            FINISHED,
        )  # fmt: skip
        [again] = await store.lease_due(second.id, T0, 1)
        await store.start_attempt(again, "att-2", T0 + timedelta(minutes=1))
        await store.finish_attempt(
            done("att-2", Outcome.ANSWERED, T0 + timedelta(minutes=2), answers=answers),
            FINISHED,
        )
        await store.add_do_not_call([PERSON], "cli", T0, campaign="spring")
    return {**files, "kept": kept}


def test_recording_paths_are_found_at_any_depth_once_each() -> None:
    answers = {
        "answers": {"a": {"recording": "/r/1.wav"}, "b": [{"recording": "/r/2.wav"}]},
        "recording": "/r/1.wav",
        "other": {"recording": 5},
    }
    assert recording_paths(answers) == ["/r/1.wav", "/r/2.wav"]


@pytest.mark.store_backends
async def test_show_prints_every_list_call_recording_and_do_not_call_entry(
    tmp_path: Path, store_url: str
):
    db = store_url
    files = await seed(db, tmp_path / "rec")
    code, out, err = await run_dialer("--db", str(db), "contacts", "show", "8 912 000-00-00",
                                      "--format", "json")  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    assert shown["number"] == PERSON
    assert [(c["list"], c["name"]) for c in shown["contacts"]] == [
        ("clients", "Иван Петров"),
        ("vip", "Ivan"),
    ]
    assert shown["contacts"][0]["consent"] == {"consent_date": "2024-05-01", "consent_scope": "all"}
    assert [(a["campaign"], a["outcome"]) for a in shown["attempts"]] == [
        ("spring", "no_answer"),
        ("vip-call", "answered"),
    ]
    assert shown["attempts"][1]["answers"]["temperature"] == "hot"
    assert shown["recordings"] == [str(files["consent"]), str(files["feedback"])]
    assert [(e["list"], e["source"]) for e in shown["do_not_call"]] == [("spring", "cli")]

    code, out, err = await run_dialer("--db", str(db), "contacts", "show", PERSON)
    assert code == 0, err
    assert "Иван Петров" in out and "vip-call" in out and str(files["feedback"]) in out
    assert "Пётр" not in out and OTHER not in out


@pytest.mark.store_backends
async def test_erase_removes_personal_data_keeps_counts_deletes_recordings(
    tmp_path: Path, store_url: str
):
    db = store_url
    files = await seed(db, tmp_path / "rec")
    code, out, err = await run_dialer("--db", str(db), "contacts", "erase", PERSON, "--yes")
    assert code == 0, err
    assert "2 recordings deleted" in out
    assert not files["consent"].exists() and not files["feedback"].exists()
    assert files["kept"].exists()  # someone else's recording

    dump = dump_text(db)
    assert "Иван" not in dump and "Тверь" not in dump and "gold" not in dump
    assert "att-2-consent" not in dump and '"hot"' not in dump
    # The number is left in one place only: the global list, as an erasure.
    assert await raw_rows(
        db, "SELECT number, scope, source FROM do_not_call WHERE number = ?", PERSON
    ) == [(PERSON, "", ERASURE_SOURCE)]
    for table in ("contacts", "attempts"):
        assert await raw_rows(db, f"SELECT count(*) FROM {table} WHERE number = ?", PERSON) == [
            (0,)
        ]
    markers = {
        r[0]
        for r in await raw_rows(db, "SELECT number FROM attempts WHERE id IN ('att-1', 'att-2')")
    }
    assert len(markers) == 1 and next(iter(markers)).startswith("erased:")

    async with open_test_store(db) as store:
        assert await store.count_contacts("clients") == 2  # counts kept
        assert await store.count_contacts("vip") == 1
        spring = await store.get_campaign("spring")
        assert spring is not None
        assert await store.attempt_outcomes(spring.id) == {
            Outcome.NO_ANSWER: 1,
            Outcome.ANSWERED: 1,
        }
        assert (await store.progress(spring.id, T0)).total == 2
        others = {c.number: c for c in await store.contacts("clients")}
        assert others[OTHER].fields == {"city": "Москва"}
        # Never enrolled or called again, in a new campaign either.
        fresh = await store.open_campaign("summer", "clients", T0)
        assert [c.number for c in await store.lease_due(fresh.id, T0, 10)] == [OTHER]
        entries = await store.audit_entries()
    assert entries[0].action == "contacts.erase" and entries[0].subject in markers
    assert all(PERSON not in f"{e.subject} {e.detail}" for e in entries)

    code, out, err = await run_dialer(
        "--db", str(db), "contacts", "show", PERSON, "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out)["contacts"] == [] and json.loads(out)["attempts"] == []

    source = tmp_path / "again.csv"
    source.write_text(f"phone,name\n{PERSON},Иван\n{NUMBERS[5]},Анна\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    code, out, err = await run_dialer("--db", str(db), "contacts", "import", str(source),
                                      "--list", "clients", "--rejects", str(rejects))  # fmt: skip
    assert code == 0, err
    assert "1 new contacts" in out and "row 2: erased on request" in out
    text = rejects.read_text(encoding="utf-8-sig")
    assert "erased on request" in text and "Иван" not in text and PERSON not in text


async def test_erase_refuses_a_number_in_a_call_and_needs_yes_off_a_terminal(tmp_path: Path):
    db = tmp_path / "dialer.db"
    async with open_test_store(db) as store:
        await store.import_contacts("clients", [NewContact(PERSON, "Иван")])
        campaign = await store.open_campaign("spring", "clients", T0)
        [lease] = await store.lease_due(campaign.id, T0, 1)
        await store.start_attempt(lease, "att-open", datetime.now(UTC))
        with pytest.raises(NumberInCall, match="in a call"):
            await store.erase_person(PERSON, datetime.now(UTC))
    code, _, err = await run_dialer("--db", str(db), "contacts", "erase", PERSON)
    assert code == 2 and "--yes" in err and "Traceback" not in err
    code, _, err = await run_dialer("--db", str(db), "contacts", "erase", PERSON, "--yes")
    assert code == 1 and "in a call" in err and "Traceback" not in err
    code, _, err = await run_dialer("--db", str(db), "contacts", "erase", "not-a-number", "--yes")
    assert code == 2 and "not a number" in err and "Traceback" not in err
    async with open_test_store(db) as store:
        [contact] = await store.contacts("clients")
        assert contact.name == "Иван"  # nothing was erased


async def test_erase_reports_a_recording_it_could_not_delete(tmp_path: Path):
    db = tmp_path / "dialer.db"
    files = await seed(db, tmp_path / "rec")
    files["consent"].unlink()  # already gone: fine
    files["feedback"].unlink()
    files["feedback"].mkdir()  # not a file: unlink fails whoever runs the test
    code, out, err = await run_dialer("--db", str(db), "contacts", "erase", PERSON, "--yes")
    assert code == 1, err
    assert "0 recordings deleted (1 already gone)" in out
    assert "could not delete" in out and str(files["feedback"]) in out


async def test_removing_an_erased_number_from_the_list_warns(tmp_path: Path):
    db = tmp_path / "dialer.db"
    async with open_test_store(db) as store:
        await store.erase_person(PERSON, T0)
    code, out, err = await run_dialer("--db", str(db), "dnc", "remove", PERSON)
    assert code == 0, err
    assert "1 removed from the global list" in out
    assert "erased on request" in out and "imported and called again" in out


async def test_store_erase_of_an_unknown_number_still_lists_it(tmp_path: Path):
    async with open_test_store(tmp_path / "d.db") as store:
        erasure = await store.erase_person(PERSON, T0)
        assert (erasure.contacts, erasure.attempts, erasure.recordings) == (0, 0, [])
        assert await store.erased_among([PERSON, OTHER]) == {PERSON}
        assert await store.do_not_call_among([PERSON], "any") == {PERSON}
