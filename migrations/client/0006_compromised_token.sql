-- When this device found that someone else pushes under its id (PROTOCOL.md
-- §12: a `superseded` answer to its own newest change of a record): its
-- token is compromised, or a copy of the device is syncing. Shown by
-- `sync status` until sync is turned off (which forgets the row).
ALTER TABLE sync_state ADD COLUMN compromised_at INTEGER;
