-- The identity of each account's log (PROTOCOL.md §8.2, "Restored servers"):
-- 16 random bytes made with the account, replaced when a device shows that
-- the server lost part of the log (restored from an older backup).
ALTER TABLE accounts ADD COLUMN log_id BLOB;
UPDATE accounts SET log_id = randomblob(16);
CREATE TRIGGER accounts_log_id AFTER INSERT ON accounts FOR EACH ROW WHEN NEW.log_id IS NULL
BEGIN
    UPDATE accounts SET log_id = randomblob(16) WHERE id = NEW.id;
END;
