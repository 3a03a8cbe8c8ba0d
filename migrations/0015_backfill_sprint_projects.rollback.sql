-- squawk-disable-assume-in-transaction
-- Remove what the backfill created: its metric snapshots, its workstreams (their
-- associations go with them) and its projects (their analyses lose the project
-- again). A project the backfill created that has since been given work items
-- is not deleted silently: the rollback stops and says so.
-- Fail fast instead of queueing behind a long lock; the whole rollback may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM projects p
                WHERE p.metadata ->> 'created_by' = '0015_backfill_sprint_projects'
                  AND (EXISTS (SELECT 1 FROM epics e WHERE e.project_id = p.id)
                       OR EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = p.id))) THEN
        RAISE EXCEPTION 'projects created by 0015_backfill_sprint_projects now hold epics or tasks'
            USING HINT = 'move or delete that work first, or clear their metadata.created_by to keep them';
    END IF;
END
$$;

DELETE FROM project_sprint_metrics WHERE metadata ->> 'created_by' = '0015_backfill_sprint_projects';
DELETE FROM project_workstreams WHERE metadata ->> 'created_by' = '0015_backfill_sprint_projects';
DELETE FROM projects WHERE metadata ->> 'created_by' = '0015_backfill_sprint_projects';
