-- sealsync on Citus: distributes the server's Postgres schema by account.
--
-- Run once, on the coordinator, after `sealsync-server migrate` (and after
-- `sealsync-server copy`, if you move an existing server: the tables'
-- rows move to the workers here):
--
--     psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/citus.sql
--
-- Every per-account table is hash-distributed by its account id and
-- co-located with `accounts`, so one account's rows (its account row, keys,
-- devices, device counters and envelopes) sit in one shard group on one
-- worker: a push, with its account row lock, stays a single-node
-- transaction. Every such table's primary key begins with the account id,
-- and every foreign key between them includes it on both sides.
--
-- Global tables are reference tables (a copy on every node; a write goes to
-- all of them): they are small and written rarely.
--
-- Not yet run against a Citus cluster by the test suite (see
-- docs/self-hosting.md, section 13, for what to check first).
--
-- server/tests/schema.rs checks this file against the migrated schema: every
-- table there must be named below, as distributed, reference or local, and a
-- distributed table's keys must lead with its distribution column. A new
-- migration that adds a table fails that test until it is named here.

CREATE EXTENSION IF NOT EXISTS citus;

-- Per-account tables. `accounts` first: the others' foreign keys point to it.

-- The account row (cursor, byte count, auth hashes): distributed by its id.
SELECT create_distributed_table('accounts', 'id');
-- Data keys, wrapped or in the keyring: (account_id, key_id).
SELECT create_distributed_table('account_keys', 'account_id', colocate_with => 'accounts');
-- Devices: (account_id, id). Authentication looks a device up by its token
-- hash, without the account: on Citus that read visits every shard (one
-- index probe each).
SELECT create_distributed_table('devices', 'account_id', colocate_with => 'accounts');
-- The highest device_seq per device: (account_id, device_id).
SELECT create_distributed_table('device_counters', 'account_id', colocate_with => 'accounts');
-- The sealed envelopes, nearly all of the data: (account_id, record_id, device_id).
SELECT create_distributed_table('envelopes', 'account_id', colocate_with => 'accounts');

-- Global tables.

-- Account names, unique across the server (migration 0007): one row per
-- account, written at registration and deletion. The login lookup by name
-- reads `accounts` and visits every shard.
SELECT create_reference_table('account_names');
-- The device-linking relay (PROTOCOL.md §6): a pairing belongs to no account
-- until it is claimed, lives minutes, and the table holds a few rows.
SELECT create_reference_table('pairings');
-- The server's own secrets (a handful of rows, written once).
SELECT create_reference_table('server_secrets');
-- Settings an operator changes on a running server (`sealsync-server
-- registration`, migration 0008): a handful of rows, read per registration.
SELECT create_reference_table('server_settings');

-- Local tables, left as they are on the coordinator: sqlx's migration
-- bookkeeping, read and written only by `sealsync-server migrate`, which runs
-- there; no statement joins it.
-- local: _sqlx_migrations
