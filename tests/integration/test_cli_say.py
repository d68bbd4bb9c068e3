"""`dialer validate` with say texts: the static text rendered into the cache, a broken
placeholder at its file:line, and with --db a field no contact of the list has."""

from __future__ import annotations

from pathlib import Path

from dialer.store import open_store
from dialer.store.base import NewContact
from tests.integration.test_cli_polish import dialer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaign-say.yaml"


def campaign_file(tmp_path: Path, text: str | None = None) -> Path:
    body = (text or EXAMPLE.read_text(encoding="utf-8")).replace(
        "/var/lib/asterisk/sounds/dialer-tts", str(tmp_path / "tts")
    )
    path = tmp_path / "say.yaml"
    path.write_text(body, encoding="utf-8")
    return path


async def base_with(tmp_path: Path, fields: dict[str, str]) -> Path:
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    await store.import_contacts(
        "spring", [NewContact(number="+79120000001", name="Анна", fields=fields)]
    )
    await store.close()
    return db


async def test_the_example_validates_and_renders_its_static_text(tmp_path: Path) -> None:
    db = await base_with(tmp_path, {"amount_due": "21000", "due_date": "2026-03-01"})
    done = dialer("validate", str(campaign_file(tmp_path)), "--db", str(db))
    assert done.returncode == 0, done.stderr
    # The static sentence, the menu's question, and a probe of the voice that says the
    # personal ones.
    assert len(list((tmp_path / "tts").glob("*.wav"))) == 3


async def test_a_field_the_list_does_not_have_is_named(tmp_path: Path) -> None:
    db = await base_with(tmp_path, {"Amount due": "21000", "payment_date": "2026-03-01"})
    done = dialer("validate", str(campaign_file(tmp_path)), "--db", str(db))
    assert done.returncode == 2
    assert (
        "ivr.steps.greeting.say[1].text: field 'due_date': no contact of list 'spring' has it "
        "(fields: Amount due, payment_date)"
    ) in done.stderr  # "Amount due" matches amount_due; name is the contact's own
    assert "Traceback" not in done.stderr


def test_a_broken_placeholder_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("{due_date:date}", "{due_date:datum}")
    done = dialer("validate", str(campaign_file(tmp_path, text)))
    assert done.returncode == 2
    assert "say.yaml:33:" in done.stderr and "unknown type 'datum'" in done.stderr
