"""PostgreSQL backend of the contact store (asyncpg): one base shared by several dialer
nodes. The same role interfaces as the SQLite backend (dialer.store.base), its own
schema and migrations (migrations.py), one module per job:
- connection.py: the pool, transactions, migrations, server trouble as StoreBusy;
- contact_base.py: lists and contacts (import, pages, list copies); do_not_call.py;
  person_data.py (one person's data, an erasure);
- campaign_ledger.py: enrolment, leases (FOR UPDATE SKIP LOCKED, an owner node and an
  expiry), attempts closed exactly once; campaign_runtime.py (runtime, progress);
  campaign_holds.py (who drives a campaign); number_hygiene.py (what a close changes);
- reports.py with call_histories.py, due_view.py and base_views.py: Reports;
- service_roles.py: CampaignFiles, ApiTokens, AuditLog; outbox.py: WebhookOutbox;
- rows.py: values between Python and PostgreSQL, the lookups the roles share.
PostgresStore is every role on one pool: the ContactStore open_store returns for a
postgresql:// URL.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from dialer.store.postgres.campaign_ledger import PgCampaignLedger
from dialer.store.postgres.connection import PgConnection, redacted
from dialer.store.postgres.contact_base import PgContactBase
from dialer.store.postgres.do_not_call import PgDoNotCall
from dialer.store.postgres.outbox import PgWebhookOutbox
from dialer.store.postgres.person_data import PgPersonData
from dialer.store.postgres.reports import PgReports
from dialer.store.postgres.service_roles import PgApiTokens, PgAuditLog, PgCampaignFiles

if TYPE_CHECKING:
    from dialer.store.base import CampaignLedger, ContactBase, ContactStore, Reports


def default_node_id() -> str:
    """This process as the owner of the contacts it leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class PostgresStore(
    PgContactBase,
    PgDoNotCall,
    PgPersonData,
    PgCampaignLedger,
    PgReports,
    PgAuditLog,
    PgCampaignFiles,
    PgApiTokens,
    PgWebhookOutbox,
):
    """ContactStore on one PostgreSQL database (see dialer.store.base for the contract)."""

    @classmethod
    async def open(cls, url: str, node_id: str | None = None) -> PostgresStore:
        """Connect (a pool) and bring the schema up to date; node_id names this process
        as the owner of its leases (default: host:pid)."""
        return cls(await PgConnection.open(url), node_id or default_node_id())

    @property
    def path(self) -> str:
        """The database's URL, without its password."""
        return self._conn.url

    @property
    def node_id(self) -> str:
        return self._node

    async def close(self) -> None:
        await self._conn.close()


if TYPE_CHECKING:

    class _ContactBase(PgContactBase, PgDoNotCall, PgPersonData):
        """ContactBase is implemented by three modules."""

    # mypy proves here that each class implements its role in full.
    def _roles(
        contact_base: _ContactBase,
        ledger: PgCampaignLedger,
        reports: PgReports,
        store: PostgresStore,
    ) -> tuple[ContactBase, CampaignLedger, Reports, ContactStore]:
        return contact_base, ledger, reports, store


__all__ = ["PgConnection", "PostgresStore", "default_node_id", "redacted"]
