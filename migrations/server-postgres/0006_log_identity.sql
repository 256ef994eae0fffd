-- The identity of each account's log (PROTOCOL.md §8.2, "Restored servers"):
-- 16 random bytes made with the account, replaced when a device shows that
-- the server lost part of the log (restored from an older backup). A
-- volatile default: every existing row gets its own.
ALTER TABLE accounts ADD COLUMN log_id BYTEA NOT NULL DEFAULT uuid_send(gen_random_uuid());
