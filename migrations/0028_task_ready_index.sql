-- depends: 0027_validate_in_progress_lease
-- transactional: false
-- squawk-disable-assume-in-transaction
-- The ready queue holds only ready tasks: pending, with no unfinished
-- dependency. next and claim read its first entry, however many pending tasks
-- wait on others. Built CONCURRENTLY (no transaction, hence the directive), so
-- writes go on. A concurrent build waits for every older transaction by design,
-- so no lock timeout may cut it off. The file is one statement after its SETs:
-- yoyo pairs the first SET with the rollback's DROP, so a build that fails
-- drops its INVALID leftover, and the file simply runs again.
SET lock_timeout = 0;
SET statement_timeout = 0;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready
    ON tasks (project_id, priority DESC, created_at, id)
    WHERE status = 'pending' AND unfinished_dependencies = 0;
