-- Settings the operator changes on a running server (`sealsync-server
-- registration open|closed`), read by every instance on this database. A
-- missing row means the command-line setting applies.
CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
