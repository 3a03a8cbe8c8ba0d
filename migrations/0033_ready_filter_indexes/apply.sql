-- squawk-disable-assume-in-transaction
-- The claim within a feature (or, feature by feature, an epic) or an agent type
-- reads only ready tasks, like idx_tasks_ready: the indexes 0019 built hold every
-- pending task, so a filtered claim's cost grew with the tasks of that feature or
-- agent type that wait on others. Their successors hold only pending tasks with
-- no unfinished dependency (the count 0026 keeps). Built CONCURRENTLY, so claims
-- go on; a concurrent build waits for every older transaction by design, so no
-- lock timeout may cut it off. Each statement commits on its own: a failure keeps
-- what is built (an INVALID leftover is dropped before its build is tried again).
SET lock_timeout = 0;
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready_feature
    ON tasks (project_id, feature_id, priority DESC, created_at, id)
    WHERE status = 'pending' AND unfinished_dependencies = 0 AND feature_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready_agent_type
    ON tasks (project_id, agent_type, priority DESC, created_at, id)
    WHERE status = 'pending' AND unfinished_dependencies = 0 AND agent_type IS NOT NULL;

-- Their predecessors go once the successors serve.
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_ready_queue_feature;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_ready_queue_agent_type;
