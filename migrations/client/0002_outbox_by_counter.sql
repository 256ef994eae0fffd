-- The outbox is read and acknowledged in counter order, batch by batch: key
-- it by its counter (the rowid), so a batch is a range of the table rather
-- than a scan and sort of all of it, and an acknowledgement deletes rows by
-- counter without touching an index of record ids (random UUIDs, so every
-- batch dirtied pages all over such an index).
--
-- Each record row holds the counter of its queued change instead
-- (outbox_seq), so queuing a newer change replaces the older entry by
-- counter. A counter is given once and never reused while sync is on, so
-- acknowledging by counter keeps an entry edited since it was sealed.

CREATE TABLE outbox_by_counter (
    device_seq INTEGER PRIMARY KEY,
    record_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    envelope   BLOB
);
INSERT INTO outbox_by_counter (device_seq, record_id, kind, envelope)
    SELECT device_seq, record_id, kind, envelope FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_by_counter RENAME TO outbox;

ALTER TABLE moods ADD COLUMN outbox_seq INTEGER;
ALTER TABLE assessments ADD COLUMN outbox_seq INTEGER;
ALTER TABLE activities ADD COLUMN outbox_seq INTEGER;
ALTER TABLE schedules ADD COLUMN outbox_seq INTEGER;
UPDATE moods SET outbox_seq = (SELECT device_seq FROM outbox WHERE record_id = moods.id);
UPDATE assessments SET outbox_seq = (SELECT device_seq FROM outbox WHERE record_id = assessments.id);
UPDATE activities SET outbox_seq = (SELECT device_seq FROM outbox WHERE record_id = activities.id);
UPDATE schedules SET outbox_seq = (SELECT device_seq FROM outbox WHERE record_id = schedules.id);
