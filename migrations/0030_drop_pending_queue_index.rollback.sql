-- squawk-disable-assume-in-transaction
-- A concurrent build waits for older transactions by design: no lock timeout.
SET lock_timeout = 0;
SET statement_timeout = 0;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready_queue
    ON tasks (project_id, priority DESC, created_at, id) WHERE status = 'pending';
