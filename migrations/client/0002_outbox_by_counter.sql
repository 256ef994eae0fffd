-- The outbox is read and acknowledged in counter order, batch by batch: key
-- it by its counter (the rowid) so a batch is a range of the table rather
-- than a scan and sort of all of it. A counter is given once and never
-- reused, so acknowledging by counter alone keeps an entry edited since it
-- was sealed (its row has a new counter).

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
