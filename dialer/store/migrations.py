"""Schema of the SQLite contact store, as an ordered list of migrations.

Migration N (1-based) takes a database from schema version N-1 to N. Never edit a
migration that has shipped: add a new one at the end. dialer.store.sqlite.connection
applies the missing ones inside one write transaction when it opens a database.

Times are REAL seconds since the epoch (UTC): compact, sortable, and readable in the
sqlite3 shell with datetime(col, 'unixepoch').
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: lists, contacts, campaigns, per-campaign contact state, attempts.
    """
    CREATE TABLE lists (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  REAL NOT NULL
    );

    CREATE TABLE contacts (
        id          INTEGER PRIMARY KEY,
        list_id     INTEGER NOT NULL REFERENCES lists(id),
        number      TEXT NOT NULL,              -- E.164
        name        TEXT,
        timezone    TEXT,                       -- IANA name
        fields      TEXT NOT NULL DEFAULT '{}', -- JSON object of custom columns
        dead        INTEGER NOT NULL DEFAULT 0, -- number known not to exist
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL,
        UNIQUE (list_id, number)
    );

    CREATE TABLE campaigns (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        list_id     INTEGER NOT NULL REFERENCES lists(id),
        state       TEXT NOT NULL DEFAULT 'new',
        created_at  REAL NOT NULL,
        config      TEXT                        -- JSON, optional
    );

    CREATE TABLE campaign_contacts (
        campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
        contact_id      INTEGER NOT NULL REFERENCES contacts(id),
        status          TEXT NOT NULL CHECK (status IN ('pending', 'dialing', 'done')),
        next_due_at     REAL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_outcome    TEXT,
        last_cause      INTEGER,
        final_outcome   TEXT,
        last_attempt_at REAL,
        PRIMARY KEY (campaign_id, contact_id)
    ) WITHOUT ROWID;

    -- lease_due: pending rows of one campaign, oldest due first, ties by contact id.
    CREATE INDEX campaign_contacts_due
        ON campaign_contacts (campaign_id, status, next_due_at, contact_id);
    -- finish_attempt marking a number dead retires it in the other campaigns.
    CREATE INDEX campaign_contacts_contact ON campaign_contacts (contact_id);

    CREATE TABLE attempts (
        id           TEXT PRIMARY KEY,          -- attempt uuid, also sent to the PBX
        campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
        contact_id   INTEGER NOT NULL REFERENCES contacts(id),
        number       TEXT NOT NULL,             -- as dialled
        started_at   REAL NOT NULL,
        answered_at  REAL,
        ended_at     REAL,                      -- NULL while the attempt is open
        outcome      TEXT,
        cause        INTEGER,
        reason       INTEGER,
        detail       TEXT NOT NULL DEFAULT '',
        answers      TEXT NOT NULL DEFAULT '{}' -- JSON object
    );

    -- outcome counts per contact (lease_due, recover) and per campaign (progress).
    CREATE INDEX attempts_contact ON attempts (campaign_id, contact_id, outcome);
    -- recover() and the one-open-attempt-per-contact check of start_attempt().
    CREATE INDEX attempts_open ON attempts (campaign_id, contact_id) WHERE ended_at IS NULL;
    """,
    # 2: the do-not-call list, across lists and campaigns (opt-outs, regulators' lists).
    """
    CREATE TABLE do_not_call (
        number      TEXT PRIMARY KEY,           -- E.164
        added_at    REAL NOT NULL,
        source      TEXT NOT NULL DEFAULT ''    -- e.g. "opt-out in campaign spring-promo"
    ) WITHOUT ROWID;
    CREATE INDEX contacts_number ON contacts (number);
    """,
    # 3: what a running campaign keeps across restarts (the abandon ledger of the
    # regulators' windows) and shows to `dialer status` (pacer state, operators).
    """
    CREATE TABLE campaign_runtime (
        campaign_id INTEGER PRIMARY KEY REFERENCES campaigns(id),
        ledger      TEXT NOT NULL DEFAULT '{}',  -- JSON: dialer.policy.abandon.AbandonLedger
        status      TEXT NOT NULL DEFAULT '{}',  -- JSON: the last status snapshot
        updated_at  REAL NOT NULL
    );
    """,
    # 4: one process drives a campaign at a time (its hold, renewed by a heartbeat and
    # expiring by itself when the holder dies), and one number is in one call at a time
    # across campaigns (lease_due and start_attempt look for its open attempts).
    """
    CREATE TABLE campaign_holds (
        campaign_id INTEGER PRIMARY KEY REFERENCES campaigns(id),
        token       TEXT NOT NULL,              -- the holder's own id, for renew / release
        host        TEXT NOT NULL,
        pid         INTEGER NOT NULL,
        since       REAL NOT NULL,
        seen_at     REAL NOT NULL,              -- last heartbeat
        expires_at  REAL NOT NULL               -- free to take after this without a heartbeat
    );
    CREATE INDEX attempts_open_number ON attempts (number) WHERE ended_at IS NULL;
    """,
    # 5: who took contact data out of the base, when, and how many rows (exports, the
    # report's CSV/JSON): a privileged act the owner of the base must be able to trace.
    """
    CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        at          REAL NOT NULL,
        actor       TEXT NOT NULL,              -- user@host for the CLI
        action      TEXT NOT NULL,              -- e.g. "contacts.export"
        subject     TEXT NOT NULL,              -- the list or campaign
        detail      TEXT NOT NULL DEFAULT '',   -- format, destination
        rows        INTEGER NOT NULL
    );
    """,
    # 6: a person's calls across every campaign in a time range (number_histories: the
    # frequency caps and recall rules, read for every batch leased and by `dialer preview`).
    """
    CREATE INDEX attempts_number_started ON attempts (number, started_at);
    """,
    # 7: do-not-call lists per campaign next to the global one. An entry's scope is ''
    # for the global list, else a campaign's name (the campaign need not exist yet: a
    # list can be loaded before its campaign is first run). (number, scope) first: the
    # check before each Originate looks numbers up in the global and one campaign's list.
    """
    CREATE TABLE do_not_call_scoped (
        number      TEXT NOT NULL,              -- E.164
        scope       TEXT NOT NULL DEFAULT '',   -- '' global, else a campaign name
        added_at    REAL NOT NULL,
        source      TEXT NOT NULL DEFAULT '',   -- "opt-out ...", "cli", a file name, "erasure"
        PRIMARY KEY (number, scope)
    ) WITHOUT ROWID;
    INSERT INTO do_not_call_scoped (number, scope, added_at, source)
        SELECT number, '', added_at, source FROM do_not_call;
    DROP TABLE do_not_call;
    ALTER TABLE do_not_call_scoped RENAME TO do_not_call;
    """,
    # 8: what closing an attempt changed in the contact base (`dialer contacts stats`
    # shows it per campaign): {"dead": true, "dnc": true, "temperature": [before, after]}.
    """
    ALTER TABLE attempts ADD COLUMN changes TEXT NOT NULL DEFAULT '{}';
    """,
    # 9: the service (`dialer serve`): every campaign file registered, by version, with
    # the state its operator wants it in (a restarted service resumes what was running),
    # and the API's tokens (only a hash of each is kept: the token is shown once).
    """
    CREATE TABLE campaign_files (
        name        TEXT NOT NULL,              -- the campaign's name in the file
        version     INTEGER NOT NULL,           -- 1, 2, ... per name
        content     TEXT NOT NULL,              -- the YAML as registered
        source      TEXT NOT NULL DEFAULT '',   -- the file's path (relative paths inside)
        added_at    REAL NOT NULL,
        added_by    TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (name, version)
    ) WITHOUT ROWID;
    CREATE TABLE campaign_wanted (
        name        TEXT PRIMARY KEY,
        wanted      TEXT NOT NULL CHECK (wanted IN ('running', 'paused', 'stopped')),
        changed_at  REAL NOT NULL,
        changed_by  TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE TABLE api_tokens (
        id          INTEGER PRIMARY KEY,
        token_hash  TEXT NOT NULL UNIQUE,       -- sha256 hex of the token
        role        TEXT NOT NULL CHECK (role IN ('viewer', 'supervisor', 'admin')),
        name        TEXT NOT NULL DEFAULT '',
        created_at  REAL NOT NULL,
        revoked_at  REAL
    );
    """,
    # 10: the webhook outbox (dialer.store.outbox_role): one row per (event, receiver URL)
    # until the receiver answers 2xx; the signing secret is not stored, only its env var.
    """
    CREATE TABLE webhook_outbox (
        id          INTEGER PRIMARY KEY,
        event_id    TEXT NOT NULL,
        campaign    TEXT NOT NULL,
        kind        TEXT NOT NULL,
        url         TEXT NOT NULL,
        secret_env  TEXT NOT NULL,
        body        TEXT NOT NULL,              -- the JSON POSTed, as signed
        created_at  REAL NOT NULL,
        tries       INTEGER NOT NULL DEFAULT 0, -- failed deliveries so far
        next_try_at REAL NOT NULL,
        last_error  TEXT NOT NULL DEFAULT '',
        delivered_at REAL,
        UNIQUE (event_id, url)
    );
    CREATE INDEX webhook_outbox_due ON webhook_outbox (next_try_at) WHERE delivered_at IS NULL;
    """,
    # 11: the Asterisk server each attempt was placed on (a campaign may dial through a
    # pool), so an open attempt is reconciled on the server that has it. NULL: one server.
    """
    ALTER TABLE attempts ADD COLUMN server TEXT;
    """,
    # 12: the dashboard's lead funnel counted by one query (Reports.campaign_funnel) every
    # few seconds per running campaign: its contacts by last outcome read from an index
    # alone, and each contact's last closed attempt found at the end of an index (also
    # the report's last_answers lookup; rowid, in every index, breaks a tie on ended_at).
    """
    CREATE INDEX campaign_contacts_outcome ON campaign_contacts (campaign_id, last_outcome);
    CREATE INDEX attempts_ended ON attempts (campaign_id, contact_id, ended_at)
        WHERE ended_at IS NOT NULL;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
