-- squawk-ignore-file ban-drop-constraint -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- A validated CHECK cannot be made NOT VALID again; drop it and add it back as
-- 0026 left it.
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS chk_tasks_in_progress_is_leased;
ALTER TABLE tasks ADD CONSTRAINT chk_tasks_in_progress_is_leased
    CHECK (status <> 'in_progress' OR (claimed_by IS NOT NULL AND lease_expires_at IS NOT NULL)) NOT VALID;
