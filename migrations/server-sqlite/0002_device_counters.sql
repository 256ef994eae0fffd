-- The highest device_seq ever stored per device (PROTOCOL.md §8.2, the
-- counter rule): a push more than 2^32 above it is refused with
-- device_seq_jump. It only grows, and outlives the envelope that raised it.
-- Keyed by account id first, like every per-account table.
CREATE TABLE device_counters (
    account_id     BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_id      BLOB NOT NULL,
    max_device_seq BIGINT NOT NULL,
    PRIMARY KEY (account_id, device_id)
);

INSERT INTO device_counters (account_id, device_id, max_device_seq)
    SELECT account_id, device_id, MAX(device_seq) FROM envelopes
    WHERE account_id IN (SELECT id FROM accounts)
    GROUP BY account_id, device_id;
