-- depends: 0042_token_projects_initplan
-- Row-level security as a filter beside the query's own conditions, not as index
-- conditions: every policy `token_projects` reads
-- `(col = ANY ((SELECT worktrack_token_projects())::bigint[])) IS TRUE`.
-- As an index condition (0037, 0042) the token's project list joined the query's
-- own `project_id = $1` in every index scan, and PostgreSQL 15 then descends a
-- btree once per listed project (a get with a token on 11 projects cost a quarter
-- more server CPU than an admin's). `IS TRUE` keeps the planner from using the
-- policy as an index condition; every API statement names its project (tests/
-- test_work_item_queries.py), so each scan reads the index range it reads for an
-- admin, and the policy checks the rows found against the list worked out once per
-- statement (the initplan of 0042). The cross-project page (task_list_all) names
-- the visible projects itself. The rows a role sees do not change: a NULL
-- comparison (no projects set) was no row before and is no row now.
-- WITH CHECK (new rows) is unchanged.
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
                       ' USING ((%I = ANY ((SELECT worktrack_token_projects())::bigint[])) IS TRUE)',
                       policy.relname, col);
    END LOOP;
END
$$;
