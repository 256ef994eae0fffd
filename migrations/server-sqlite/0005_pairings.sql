-- Device linking relay (PROTOCOL.md §6, §8.3), SQLite: the same table as
-- Postgres, with UUIDs as 16-byte BLOBs. A pairing lives at most a few
-- minutes (the server's pairing TTL, 10 minutes by default) and belongs to no
-- account until an approving device claims it. Rows are deleted when the new
-- device fetches its bundle, when they are found expired, and at every
-- pairing creation for those past their expiry; a failed pairing keeps only
-- its number, secret hash and claimant until then, so both devices are told
-- it failed. Times are Unix milliseconds.

CREATE TABLE pairings (
    -- The relay's pairing number, 0 to 999999.
    pairing            INTEGER PRIMARY KEY,
    -- SHA-256 of the new device's pairing secret (of its 64 hex digits).
    secret_hash        BLOB NOT NULL,
    -- 'open', 'claimed', 'confirmed', 'approved' or 'failed'.
    state              TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    -- The new device's chosen id and SPAKE2 message.
    new_device_id      BLOB NOT NULL,
    new_message        BLOB NOT NULL,
    -- Set by the claim: the approving device, its account, message and confirmation.
    account_id         BLOB,
    approver_device_id BLOB,
    approver_message   BLOB,
    approver_confirm   BLOB,
    -- Set by the new device's confirmation: its confirmation and its name sealed under the link key.
    new_confirm        BLOB,
    new_encrypted_name BLOB,
    -- Set by the approval: the device's name sealed under the record key, and the sealed bundle.
    device_name        BLOB,
    bundle             BLOB
);

CREATE INDEX pairings_by_expiry ON pairings (expires_at);
CREATE INDEX pairings_by_account ON pairings (account_id);
