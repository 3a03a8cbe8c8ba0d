-- squawk-disable-assume-in-transaction
-- Back to 0019's indexes (every pending task), built before the successors go.
-- No lock timeout: concurrent builds and drops wait for older transactions by design.
SET lock_timeout = 0;
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready_queue_feature
    ON tasks (project_id, feature_id, priority DESC, created_at, id)
    WHERE status = 'pending' AND feature_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready_queue_agent_type
    ON tasks (project_id, agent_type, priority DESC, created_at, id)
    WHERE status = 'pending' AND agent_type IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_ready_agent_type;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_ready_feature;
