-- Back to 0042: the policies `token_projects` compare with the initplan as an
-- index condition again.
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
                       ' USING (%I = ANY ((SELECT worktrack_token_projects())::bigint[]))',
                       policy.relname, col);
    END LOOP;
END
$$;
