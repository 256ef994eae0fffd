-- sealsync client store. The four record tables are what the app queries;
-- `seen`, whose rows are small keys, is WITHOUT ROWID (one B-tree write per
-- row); the record and outbox tables keep rowids, as their rows are large.
-- content columns are NULL once a record is deleted (a delete erases the
-- content on every device). updated_by is NULL for a change made on this
-- device, else the id of the device whose change won the merge.

CREATE TABLE moods (
    id          TEXT PRIMARY KEY,
    score       INTEGER,
    note        TEXT,
    tags        TEXT,
    created_at  INTEGER NOT NULL,
    updated_hlc INTEGER NOT NULL,
    updated_by  TEXT,
    deleted_at  INTEGER
);

CREATE TABLE assessments (
    id          TEXT PRIMARY KEY,
    kind        TEXT,
    answers     TEXT,
    total       INTEGER,
    severity    TEXT,
    item9_flag  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_hlc INTEGER NOT NULL,
    updated_by  TEXT,
    deleted_at  INTEGER
);

CREATE TABLE activities (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    category    TEXT,
    minutes     INTEGER,
    enjoyment   INTEGER,
    mastery     INTEGER,
    happened_at INTEGER,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    updated_hlc INTEGER NOT NULL,
    updated_by  TEXT,
    deleted_at  INTEGER
);

CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    activity_id TEXT,
    recurrence  TEXT,
    at          TEXT,
    tz          TEXT,
    active      INTEGER,
    created_at  INTEGER NOT NULL,
    updated_hlc INTEGER NOT NULL,
    updated_by  TEXT,
    deleted_at  INTEGER
);

-- This device's hybrid logical clock (PROTOCOL.md §5); it runs with sync off too.
CREATE TABLE local_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    clock_last INTEGER NOT NULL
);
INSERT INTO local_state (id, clock_last) VALUES (1, 0);

-- Present only while sync is enabled.
CREATE TABLE sync_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    server_url       TEXT NOT NULL,
    account_name     TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    cursor           INTEGER NOT NULL DEFAULT 0,
    next_device_seq  INTEGER NOT NULL DEFAULT 1,
    last_sync_at     INTEGER
);

-- The highest protocol version seen per account: never accept a lower one.
CREATE TABLE pinned_versions (
    server_url   TEXT NOT NULL,
    account_name TEXT NOT NULL,
    version      INTEGER NOT NULL,
    PRIMARY KEY (server_url, account_name)
);

-- Local changes not yet acknowledged by the server: one row per record, its
-- newest counter, and the envelope once sealed (re-sent byte for byte).
CREATE TABLE outbox (
    record_id  TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    envelope   BLOB
);

-- The highest device_seq opened and merged per (record, device): anything not
-- above it is a replay or rollback.
CREATE TABLE seen (
    record_id  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    PRIMARY KEY (record_id, device_id)
) WITHOUT ROWID;

-- Envelopes that could not be applied, kept with the reason. Deferred ones
-- (stamped too far ahead of this clock) are retried at every sync.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    server_seq  INTEGER NOT NULL,
    envelope    BLOB NOT NULL,
    reason      TEXT NOT NULL,
    deferred    INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL
);
