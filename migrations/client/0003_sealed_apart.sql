-- Sealed bytes of queued changes, apart from the queue. Sealing used to
-- fill the outbox row's NULL envelope column in place: every row grew from
-- tens of bytes to hundreds, so each sealed batch split the outbox's pages
-- one by one. Here sealing appends rows in counter order (the rightmost
-- leaf of the table), and an outbox entry leaves with its sealed bytes
-- (ON DELETE CASCADE) however it leaves: acknowledged, replaced by a newer
-- change, or forgotten when sync is turned off.

CREATE TABLE sealed (
    device_seq INTEGER PRIMARY KEY REFERENCES outbox (device_seq) ON DELETE CASCADE,
    envelope   BLOB NOT NULL
);
INSERT INTO sealed (device_seq, envelope)
    SELECT device_seq, envelope FROM outbox WHERE envelope IS NOT NULL;
ALTER TABLE outbox DROP COLUMN envelope;
