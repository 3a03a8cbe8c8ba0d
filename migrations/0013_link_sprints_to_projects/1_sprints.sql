-- Expand, step 1 of 3: the rules the legacy sprints lacked, added NOT VALID (a
-- brief lock; new writes are checked at once, 0016 validates the existing rows).
-- One table per transaction, with a short lock_timeout: while ALTER TABLE waits for
-- its lock every read of the table queues behind it, so it gives up after 250 ms
-- and 0013_link_sprints_to_projects.py tries again (the file is safe to re-run).
-- squawk-disable-assume-in-transaction
-- squawk-ignore-file prefer-robust-stmts -- each constraint is added only when missing
BEGIN;
SET LOCAL lock_timeout = '250ms';
SET LOCAL statement_timeout = '60s';

-- Postgres has no ADD CONSTRAINT IF NOT EXISTS: each is added only when missing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprints'::regclass AND conname = 'chk_sprints_state') THEN
        ALTER TABLE sprints ADD CONSTRAINT chk_sprints_state
            CHECK (state IN ('future', 'active', 'closed')) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprints'::regclass AND conname = 'chk_sprints_dates_in_order') THEN
        ALTER TABLE sprints ADD CONSTRAINT chk_sprints_dates_in_order CHECK (end_date >= start_date) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprints'::regclass AND conname = 'chk_sprints_name_not_blank') THEN
        ALTER TABLE sprints ADD CONSTRAINT chk_sprints_name_not_blank CHECK (btrim(name) <> '') NOT VALID;
    END IF;
END
$$;
COMMIT;
