-- squawk-disable-assume-in-transaction
-- A concurrent drop waits for older transactions by design: no lock timeout.
SET lock_timeout = 0;
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_project_status_id;
