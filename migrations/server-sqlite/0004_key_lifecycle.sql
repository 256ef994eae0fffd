-- Key lifecycle (PROTOCOL.md §3.2-§3.5). The account names its current data
-- key; `account_keys` keeps one row per key: the current key's row holds it
-- wrapped under the passphrase, every other row its keyring entry (sealed
-- under the current key). The recovery key's columns are NULL until a
-- recovery key is set.
ALTER TABLE accounts ADD COLUMN current_key_id BLOB;
ALTER TABLE accounts ADD COLUMN recovery_auth_hash BLOB;
ALTER TABLE accounts ADD COLUMN recovery_public_key BLOB;
ALTER TABLE accounts ADD COLUMN recovery_public_key_mac BLOB;
ALTER TABLE accounts ADD COLUMN recovery_wrapped_key BLOB;
ALTER TABLE accounts ADD COLUMN recovery_anchor_key_id BLOB;
ALTER TABLE accounts ADD COLUMN recovery_anchor BLOB;
ALTER TABLE accounts ADD COLUMN recovery_created_at INTEGER;
UPDATE accounts SET current_key_id = (
    SELECT key_id FROM account_keys k WHERE k.account_id = accounts.id ORDER BY created_at DESC LIMIT 1
);
