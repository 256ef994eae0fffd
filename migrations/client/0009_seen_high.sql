-- The highest device_seq merged per device, kept beside `seen` so that each
-- sync reads the counters of the restore rule (PROTOCOL.md §8.2, "Restored
-- servers") from a row per device instead of scanning `seen`, which holds a
-- row per (record, device): on a journal of 100,000 records that scan cost
-- every sync tens of milliseconds.
CREATE TABLE seen_high (
    device_id  TEXT PRIMARY KEY,
    device_seq INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO seen_high (device_id, device_seq)
SELECT device_id, MAX(device_seq) FROM seen GROUP BY device_id;
