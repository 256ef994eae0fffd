-- A push inserts up to 500 envelope rows at once, and the foreign key to
-- accounts checked every one of them (a lookup and a row lock per row: about
-- a third of the insert). It guarded nothing a push can break: a push holds
-- the account row's lock while it inserts, and deleting an account deletes
-- the account row first (waiting for any push in progress; every later push
-- finds no account) and then the account's envelopes explicitly.
ALTER TABLE envelopes DROP CONSTRAINT envelopes_account_id_fkey;
