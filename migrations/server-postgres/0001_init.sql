-- sealsync server schema, Postgres. Every per-account table is keyed by
-- account_id first, so it can be distributed by account (e.g. Citus).
-- Times are Unix milliseconds (BIGINT), the same representation as SQLite's.

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE accounts (
    id               UUID PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    protocol_version INTEGER NOT NULL,
    salt_seed        BYTEA NOT NULL,
    auth_key_hash    BYTEA NOT NULL,
    -- The pull cursor: the highest server_seq assigned. Advanced under this
    -- row's lock inside every push transaction.
    seq              BIGINT NOT NULL DEFAULT 0,
    stored_bytes     BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE account_keys (
    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_id      BYTEA NOT NULL,
    wrapped_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, key_id)
);

CREATE TABLE devices (
    account_id     UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id             UUID NOT NULL,
    encrypted_name BYTEA NOT NULL,
    token_hash     BYTEA NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    revoked_at     BIGINT,
    PRIMARY KEY (account_id, id)
);

-- The newest envelope per (record, device): a device's later change to a
-- record replaces its earlier one.
CREATE TABLE envelopes (
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    record_id  UUID NOT NULL,
    device_id  UUID NOT NULL,
    device_seq BIGINT NOT NULL,
    server_seq BIGINT NOT NULL,
    envelope   BYTEA NOT NULL,
    PRIMARY KEY (account_id, record_id, device_id)
);

CREATE UNIQUE INDEX envelopes_by_cursor ON envelopes (account_id, server_seq);
