-- squawk-disable-assume-in-transaction
-- A concurrent build waits for older transactions by design: no lock timeout.
SET lock_timeout = 0;
SET statement_timeout = 0;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_project_lease_expires_at
    ON tasks (project_id, lease_expires_at) WHERE lease_expires_at IS NOT NULL;
