-- What this device knows of the account's log on the server, to notice a
-- server restored from an older backup (PROTOCOL.md §8.2, "Restored servers"):
-- the log identity last seen, the highest position and counter the server
-- acknowledged for this device's own envelopes, the log identity it last
-- healed on, when a restore was last found, and whether the pull that heals
-- it is still under way (envelopes already merged are then passed over, not
-- quarantined as replays).
ALTER TABLE sync_state ADD COLUMN log_id BLOB;
ALTER TABLE sync_state ADD COLUMN acked_position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN acked_device_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN healed_log_id BLOB;
ALTER TABLE sync_state ADD COLUMN restored_at INTEGER;
ALTER TABLE sync_state ADD COLUMN restore_pull INTEGER NOT NULL DEFAULT 0;
