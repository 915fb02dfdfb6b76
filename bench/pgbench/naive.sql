BEGIN;
ALTER TABLE acct ALTER COLUMN amount TYPE bigint;
CREATE INDEX acct_note_idx ON acct (note);
COMMIT;
