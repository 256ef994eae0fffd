-- What the server refused in this device's last sync (JSON array of
-- `{code, count, bytes, reason}`; NULL when nothing was): `sync status`
-- shows it until a sync has nothing refused.
ALTER TABLE sync_state ADD COLUMN refused TEXT;
