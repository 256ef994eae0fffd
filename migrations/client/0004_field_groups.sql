-- Merge per field group (PROTOCOL.md §7). Each record row keeps the stamps
-- of its groups: a record body (§4.7) whose values are empty. NULL means
-- every group was written by the record's last change (updated_hlc,
-- updated_by), which is what every row written before this migration holds.
ALTER TABLE moods ADD COLUMN stamps BLOB;
ALTER TABLE assessments ADD COLUMN stamps BLOB;
ALTER TABLE activities ADD COLUMN stamps BLOB;
ALTER TABLE schedules ADD COLUMN stamps BLOB;

-- The conflict log: a group value that lost to a concurrent edit of the same
-- group on another device, kept until the user restores or dismisses it. A
-- delete erases the record's entries with its content. *_by is NULL for this
-- device.
CREATE TABLE conflicts (
    id          INTEGER PRIMARY KEY,
    record_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    field_group INTEGER NOT NULL,
    value       BLOB NOT NULL,
    lost_hlc    INTEGER NOT NULL,
    lost_by     TEXT,
    won_hlc     INTEGER NOT NULL,
    won_by      TEXT,
    detected_at INTEGER NOT NULL
);
CREATE INDEX conflicts_by_record ON conflicts (record_id);
