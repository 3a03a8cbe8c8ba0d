-- Expand, step 3 of 3: a task's sprint must exist (NOT VALID; 0016 clears the
-- sprint ids that name no sprint and validates). Takes a brief lock on tasks and
-- sprints. One transaction, short lock_timeout, retried by
-- 0013_link_sprints_to_projects.py (see 1_sprints.sql).
-- squawk-disable-assume-in-transaction
-- squawk-ignore-file prefer-robust-stmts -- the constraint is added only when missing
BEGIN;
SET LOCAL lock_timeout = '250ms';
SET LOCAL statement_timeout = '60s';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'tasks'::regclass AND conname = 'fk_tasks_sprint') THEN
        ALTER TABLE tasks ADD CONSTRAINT fk_tasks_sprint
            FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE SET NULL NOT VALID;
    END IF;
END
$$;
COMMIT;
