"""SQLite backend of the contact store: the embedded default, no server to run.

All SQL of the SQLite backend lives in this package (the schema in
dialer.store.migrations), one module per job:
- connection.py: opening the file, WAL and pragmas, migrations, transactions;
- contact_base.py: ContactBase's lists and contacts; do_not_call.py: its do-not-call
  lists (global, per campaign); person_data.py: one person's data (show, erase);
- campaign_ledger.py: CampaignLedger (enrolment, leases, attempts, runtime, progress);
- reports.py: Reports (read-only views of campaigns and their history), with
  call_histories.py (each number's calls across campaigns, for the frequency rules) and
  due_view.py (where each contact stands, for `dialer preview`);
- base_views.py: Reports on the base as a whole (each contact's standing across
  campaigns, stats, what a campaign changed);
- list_copies.py: ContactBase building a list from another (`dialer lists build`);
- audit_log.py: AuditLog (who exported contact data, when, how many rows);
- campaign_files.py: CampaignFiles and ApiTokens (what the service keeps);
- outbox.py: WebhookOutbox (webhook deliveries waiting for their receiver);
- rows.py: values between Python and SQLite, and the lookups the roles share.
SqliteStore is every role on one connection: the ContactStore that open_store returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dialer.store.sqlite.audit_log import SqliteAuditLog
from dialer.store.sqlite.campaign_files import SqliteApiTokens, SqliteCampaignFiles
from dialer.store.sqlite.campaign_ledger import SqliteCampaignLedger
from dialer.store.sqlite.connection import SqliteConnection
from dialer.store.sqlite.contact_base import SqliteContactBase
from dialer.store.sqlite.do_not_call import SqliteDoNotCall
from dialer.store.sqlite.outbox import SqliteWebhookOutbox
from dialer.store.sqlite.person_data import SqlitePersonData
from dialer.store.sqlite.reports import SqliteReports

if TYPE_CHECKING:
    from dialer.store.base import CampaignLedger, ContactBase, ContactStore, Reports


class SqliteStore(
    SqliteContactBase,
    SqliteDoNotCall,
    SqlitePersonData,
    SqliteCampaignLedger,
    SqliteReports,
    SqliteAuditLog,
    SqliteCampaignFiles,
    SqliteApiTokens,
    SqliteWebhookOutbox,
):
    """ContactStore on one SQLite file (see dialer.store.base for the contract).

    Each role's methods come from its own module; they share one connection."""

    @classmethod
    async def open(cls, path: str | Path, busy_timeout: float | None = None) -> SqliteStore:
        """Open (creating if needed) the database and bring its schema up to date.
        `busy_timeout` (seconds): how long one call waits for another writer's lock."""
        if busy_timeout is None:
            return cls(SqliteConnection.open(path))
        return cls(SqliteConnection.open(path, busy_timeout_ms=round(busy_timeout * 1000)))

    @property
    def path(self) -> str:
        return self._conn.path

    async def close(self) -> None:
        self._conn.close()


if TYPE_CHECKING:

    class _ContactBase(SqliteContactBase, SqliteDoNotCall, SqlitePersonData):
        """ContactBase is implemented by three modules."""

    # mypy proves here that each class implements its role in full.
    def _roles(
        contact_base: _ContactBase,
        ledger: SqliteCampaignLedger,
        reports: SqliteReports,
        store: SqliteStore,
    ) -> tuple[ContactBase, CampaignLedger, Reports, ContactStore]:
        return contact_base, ledger, reports, store


__all__ = [
    "SqliteCampaignLedger",
    "SqliteConnection",
    "SqliteContactBase",
    "SqliteReports",
    "SqliteStore",
]
