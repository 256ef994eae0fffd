-- Ready for Citus (deploy/citus.sql): a table distributed by account can
-- only hold unique constraints that include its distribution column, and
-- accounts had two that did not.
--
-- Account names: unique across the server, so they move to their own table,
-- keyed by name (a reference table under Citus). Registration inserts the
-- account row and then its name, in one transaction: a taken name fails the
-- second insert (account_exists) and nothing is kept. accounts.name stays,
-- indexed, for the login lookup.
CREATE TABLE account_names (
    name       TEXT PRIMARY KEY,
    account_id UUID NOT NULL
);
INSERT INTO account_names (name, account_id) SELECT name, id FROM accounts;
CREATE INDEX account_names_by_account ON account_names (account_id);
ALTER TABLE accounts DROP CONSTRAINT accounts_name_key;
CREATE INDEX accounts_by_name ON accounts (name);

-- Token hashes: SHA-256 of 256 random bits, so two devices never share one
-- and the unique constraint guarded nothing; a plain index keeps the lookup.
ALTER TABLE devices DROP CONSTRAINT devices_token_hash_key;
CREATE INDEX devices_by_token ON devices (token_hash);
