-- depends: 0037_row_level_security
-- transactional: false
-- squawk-disable-assume-in-transaction
-- A page of a project's tasks in one status comes in id order: the list reads
-- the page's rows and stops, instead of reading every task of that status and
-- sorting them. idx_tasks_project_status stays as the seed defines it (name and
-- columns are fixed there, and the lease-expiry scan is planned on it); this
-- index is the one the list page is served by. Built CONCURRENTLY (no
-- transaction, hence the directive), so writes go on; the file is one
-- statement after its SETs, so a build that fails is dropped by the rollback
-- and the file simply runs again.
SET lock_timeout = 0;
SET statement_timeout = 0;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_project_status_id ON tasks (project_id, status, id);
