-- squawk-disable-assume-in-transaction
-- The ready queue within a feature (and, feature by feature, within an epic) and
-- within an agent type, in claim order: a claim that names one of them walks its
-- own index instead of filtering the project's whole queue. Built CONCURRENTLY so
-- that claims go on during the build (hence transactional: false). A build that
-- fails leaves an INVALID index behind, which IF NOT EXISTS would then skip: the
-- block below drops such leftovers first, so the file can simply be run again.
-- A concurrent build waits for every older transaction by design: no lock timeout
-- may cut it off (its SHARE UPDATE EXCLUSIVE lock blocks no read or write).
SET lock_timeout = 0;
SET statement_timeout = 0;

DO $$
DECLARE
    leftover text;
BEGIN
    FOR leftover IN
        SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE NOT i.indisvalid
           AND c.relname = ANY (ARRAY['idx_tasks_ready_queue_feature', 'idx_tasks_ready_queue_agent_type'])
    LOOP
        EXECUTE format('DROP INDEX %I', leftover);
    END LOOP;
END
$$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready_queue_feature
    ON tasks (project_id, feature_id, priority DESC, created_at, id)
    WHERE status = 'pending' AND feature_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_ready_queue_agent_type
    ON tasks (project_id, agent_type, priority DESC, created_at, id)
    WHERE status = 'pending' AND agent_type IS NOT NULL;
