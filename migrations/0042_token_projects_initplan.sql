-- depends: 0041_sprint_burndown_per_event
-- Row-level security at the cost of one evaluation per statement: every policy
-- `token_projects` compares with `(SELECT worktrack_token_projects())`, an
-- initplan the executor runs once, instead of the inlined expression, which
-- parsed the setting into an array again for every row and every index probe of
-- every scoped table a statement joins (the page of 50 tasks paid a third more
-- for it). The rows a role sees do not change.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DO $$
DECLARE
    policy record;
    col text;
BEGIN
    FOR policy IN SELECT c.relname FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
                   WHERE pol.polname = 'token_projects' AND c.relnamespace = 'public'::regnamespace
    LOOP
        col := CASE WHEN policy.relname = 'projects' THEN 'id' ELSE 'project_id' END;
        EXECUTE format('ALTER POLICY token_projects ON %I'
                       ' USING (%I = ANY ((SELECT worktrack_token_projects())::bigint[]))'
                       ' WITH CHECK (%I = ANY ((SELECT worktrack_token_projects())::bigint[]))',
                       policy.relname, col, col);
    END LOOP;
END
$$;
