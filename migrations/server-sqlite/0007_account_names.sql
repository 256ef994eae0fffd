-- Account names in their own table, as on Postgres (where it makes the
-- schema ready for Citus: see that migration). Registration writes it in the
-- same transaction as the account, and `sealsync-server copy` needs the two
-- schemas to share their tables. accounts.name keeps its UNIQUE here.
CREATE TABLE account_names (
    name       TEXT PRIMARY KEY,
    account_id BLOB NOT NULL
);
INSERT INTO account_names (name, account_id) SELECT name, id FROM accounts;
CREATE INDEX account_names_by_account ON account_names (account_id);
