-- Key lifecycle (PROTOCOL.md §3.2-§3.5). The account names its current data
-- key; `account_keys` keeps one row per key: the current key's row holds it
-- wrapped under the passphrase, every other row its keyring entry (sealed
-- under the current key). The recovery key's columns are NULL until a
-- recovery key is set.
ALTER TABLE accounts ADD COLUMN current_key_id BYTEA;
ALTER TABLE accounts ADD COLUMN recovery_auth_hash BYTEA;
ALTER TABLE accounts ADD COLUMN recovery_public_key BYTEA;
ALTER TABLE accounts ADD COLUMN recovery_public_key_mac BYTEA;
ALTER TABLE accounts ADD COLUMN recovery_wrapped_key BYTEA;
ALTER TABLE accounts ADD COLUMN recovery_anchor_key_id BYTEA;
ALTER TABLE accounts ADD COLUMN recovery_anchor BYTEA;
ALTER TABLE accounts ADD COLUMN recovery_created_at BIGINT;
UPDATE accounts SET current_key_id = (
    SELECT key_id FROM account_keys k WHERE k.account_id = accounts.id ORDER BY created_at DESC LIMIT 1
);
