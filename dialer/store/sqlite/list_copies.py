"""ContactBase on SQLite, building a list from another: the copies `dialer lists build`
makes of the contacts its filter chose."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dialer.store.base import StoreError
from dialer.store.column_values import ts
from dialer.store.sqlite.connection import SqliteRole
from dialer.store.sqlite.rows import list_id


class SqliteListCopies(SqliteRole):
    """Part of ContactBase (see dialer.store.base for the contract)."""

    async def copy_contacts(
        self, from_list: str, contact_ids: Iterable[int], new_list: str, now: datetime
    ) -> int:
        if not new_list or not new_list.strip():
            raise ValueError("a contact list needs a name")
        at = ts(now)
        with self._conn.write() as db:
            source = list_id(db, from_list)
            if db.execute("SELECT 1 FROM lists WHERE name = ?", (new_list,)).fetchone():
                raise StoreError(f"contact list {new_list!r} already exists: choose another name")
            target = db.execute(
                "INSERT INTO lists (name, created_at) VALUES (?, ?) RETURNING id", (new_list, at)
            ).fetchone()[0]
            # In the source's id order, so the new list is dialled in the same order. The
            # list_id test keeps ids of other lists out, whatever the caller passed.
            db.executemany(
                "INSERT INTO contacts (list_id, number, name, timezone, fields, dead,"
                " created_at, updated_at)"
                " SELECT ?, number, name, timezone, fields, dead, ?, ? FROM contacts"
                " WHERE id = ? AND list_id = ? ON CONFLICT (list_id, number) DO NOTHING",
                ((target, at, at, contact_id, source) for contact_id in sorted(set(contact_ids))),
            )
            (copied,) = db.execute(
                "SELECT count(*) FROM contacts WHERE list_id = ?", (target,)
            ).fetchone()
        return int(copied)
