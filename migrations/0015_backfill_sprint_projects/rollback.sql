-- squawk-disable-assume-in-transaction
-- Remove what the backfill created: its metric snapshots, its workstreams (their
-- associations go with them) and its projects (their analyses lose the project
-- again). If anything has since been built on them (epics, tasks, reports, other
-- workstreams, snapshots) the rollback stops and says so rather than delete it.
-- Not undone: associations the backfill added to workstreams that existed before
-- it, and the project it gave to analyses of projects that existed before it.
-- Fail fast instead of queueing behind a long lock; the whole rollback may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM projects p
                WHERE p.metadata ->> 'created_by' = '0015_backfill_sprint_projects'
                  AND (EXISTS (SELECT 1 FROM epics e WHERE e.project_id = p.id)
                       OR EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = p.id)
                       OR EXISTS (SELECT 1 FROM reports r WHERE r.project_id = p.id)
                       OR EXISTS (SELECT 1 FROM project_workstreams w WHERE w.project_id = p.id
                                     AND w.metadata ->> 'created_by' IS DISTINCT FROM '0015_backfill_sprint_projects')))
       OR EXISTS (SELECT 1 FROM project_sprint_metrics m
                    JOIN project_workstreams w ON w.id = m.workstream_id
                   WHERE w.metadata ->> 'created_by' = '0015_backfill_sprint_projects'
                     AND m.metadata ->> 'created_by' IS DISTINCT FROM '0015_backfill_sprint_projects') THEN
        RAISE EXCEPTION 'projects or workstreams created by 0015_backfill_sprint_projects now hold epics, tasks, reports, workstreams or snapshots of their own'
            USING HINT = 'move or delete that work first, or clear their metadata.created_by to keep them';
    END IF;
END
$$;

DELETE FROM project_sprint_metrics WHERE metadata ->> 'created_by' = '0015_backfill_sprint_projects';
DELETE FROM project_workstreams WHERE metadata ->> 'created_by' = '0015_backfill_sprint_projects';
DELETE FROM projects WHERE metadata ->> 'created_by' = '0015_backfill_sprint_projects';
