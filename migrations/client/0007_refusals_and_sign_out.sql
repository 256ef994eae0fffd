-- What the server refused in this device's last sync (JSON array of
-- `{code, count, bytes, reason}`; NULL when nothing was): `sync status`
-- shows it until a sync has nothing refused.
ALTER TABLE sync_state ADD COLUMN refused TEXT;
-- When the server last said this device's token is no longer valid (revoked,
-- or the account deleted): `sync status` says so and what to do.
ALTER TABLE sync_state ADD COLUMN signed_out_at INTEGER;
-- When a sync last stopped part-way (an error after it started): `sync
-- status` shows it beside the last complete sync.
ALTER TABLE sync_state ADD COLUMN last_partial_at INTEGER;
