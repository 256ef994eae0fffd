-- sealsync server schema, SQLite: the same tables as Postgres, with UUIDs as
-- 16-byte BLOBs. Times are Unix milliseconds. The push transaction runs under
-- BEGIN IMMEDIATE, which serialises writers the way the account row lock does
-- on Postgres.

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE accounts (
    id               BLOB PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    protocol_version INTEGER NOT NULL,
    salt_seed        BLOB NOT NULL,
    auth_key_hash    BLOB NOT NULL,
    -- The pull cursor: the highest server_seq assigned. Advanced under this
    -- row's lock inside every push transaction.
    seq              BIGINT NOT NULL DEFAULT 0,
    stored_bytes     BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE account_keys (
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_id      BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, key_id)
);

CREATE TABLE devices (
    account_id     BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id             BLOB NOT NULL,
    encrypted_name BLOB NOT NULL,
    token_hash     BLOB NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    revoked_at     BIGINT,
    PRIMARY KEY (account_id, id)
);

-- The newest envelope per (record, device): a device's later change to a
-- record replaces its earlier one.
CREATE TABLE envelopes (
    account_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    record_id  BLOB NOT NULL,
    device_id  BLOB NOT NULL,
    device_seq BIGINT NOT NULL,
    server_seq BIGINT NOT NULL,
    envelope   BLOB NOT NULL,
    PRIMARY KEY (account_id, record_id, device_id)
);

CREATE UNIQUE INDEX envelopes_by_cursor ON envelopes (account_id, server_seq);
