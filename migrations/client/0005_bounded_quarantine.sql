-- The quarantine is bounded (PROTOCOL.md §12, threat-model.md §5): an
-- envelope whose exact bytes are already quarantined is not added again (a
-- server replaying one envelope at ever new positions adds nothing), and at
-- most 1,000 entries that will not be retried are kept, the oldest dropped
-- first, counted in sync_state.quarantine_dropped. Deferred entries are
-- kept: each one opened under the account's key, so only the account's
-- devices made it, and it is data the device will still apply.
DELETE FROM quarantine WHERE id NOT IN (SELECT MIN(id) FROM quarantine GROUP BY envelope);
CREATE UNIQUE INDEX quarantine_by_envelope ON quarantine (envelope);
ALTER TABLE sync_state ADD COLUMN quarantine_dropped INTEGER NOT NULL DEFAULT 0;
