-- squawk-ignore-file ban-drop-function -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
-- The role worktrack_api_admin belongs to the cluster and may serve other
-- databases: it stays (DROP ROLE by hand once none uses it).
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['projects', 'epics', 'features', 'tasks', 'task_history', 'task_dependencies',
                             'task_links', 'sprint_membership_events', 'project_workstreams',
                             'reports', 'sprint_analyses', 'api_token_projects'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS token_projects ON %I', t);
        EXECUTE format('DROP POLICY IF EXISTS admin_token ON %I', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

DROP FUNCTION IF EXISTS worktrack_token_projects();
