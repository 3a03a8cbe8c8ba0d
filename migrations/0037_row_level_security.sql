-- depends: 0036_api_tokens
-- The second wall: row-level security keeps each transaction of the API to the
-- projects its token allows, whatever a query forgets.
-- Every table that carries project_id (and projects itself, by id) lets the
-- role worktrack_api see and change only the rows of the projects listed in the
-- setting worktrack.project_ids ('{1,4}'; unset or empty: none). The token check
-- sets it, with the role, on every connection it hands out (service/access.py).
-- An admin token's connections take the role worktrack_api_admin, a member of
-- worktrack_api whose policies let it see everything: `true` OR'ed with the
-- project policy folds away, so an admin's statements carry no filter at all.
-- The policy is `project_id = ANY (worktrack_token_projects())`, a stable
-- expression an index on project_id can use (the function is inlined).
-- Table owners (migrations, seed, maintain) and superusers are not subject to it;
-- SECURITY DEFINER trigger functions (history, sprint membership) write as the owner.
-- Without the roles (a migrator that may not create roles; see 0032) the tables
-- still get row-level security, which binds no owner: nothing changes for a
-- deployment that connects as the owner.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE OR REPLACE FUNCTION worktrack_token_projects() RETURNS bigint[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('worktrack.project_ids', true), '')::bigint[] $$;

DO $$
DECLARE
    scoped constant text[] := ARRAY['epics', 'features', 'tasks', 'task_history', 'task_dependencies',
                                    'task_links', 'sprint_membership_events', 'project_workstreams',
                                    'reports', 'sprint_analyses', 'api_token_projects'];
    t text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api')
       AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api_admin') THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            BEGIN
                CREATE ROLE worktrack_api_admin NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it just now
            END;
        ELSE
            RAISE NOTICE 'role worktrack_api_admin does not exist and % may not create it: no policies made',
                         current_user;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api_admin') THEN
        GRANT worktrack_api TO worktrack_api_admin;
        -- Login roles that were made members of worktrack_api (docs/database-roles.md)
        -- keep seeing everything when an admin token calls.
        FOR t IN SELECT m.rolname FROM pg_auth_members am
                   JOIN pg_roles g ON g.oid = am.roleid AND g.rolname = 'worktrack_api'
                   JOIN pg_roles m ON m.oid = am.member AND m.rolcanlogin
        LOOP
            EXECUTE format('GRANT worktrack_api_admin TO %I', t);
        END LOOP;
    END IF;

    EXECUTE 'ALTER TABLE projects ENABLE ROW LEVEL SECURITY';
    FOREACH t IN ARRAY scoped LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api_admin') THEN
        RETURN;
    END IF;
    DROP POLICY IF EXISTS token_projects ON projects;
    CREATE POLICY token_projects ON projects TO worktrack_api
        USING (id = ANY (worktrack_token_projects())) WITH CHECK (id = ANY (worktrack_token_projects()));
    DROP POLICY IF EXISTS admin_token ON projects;
    CREATE POLICY admin_token ON projects TO worktrack_api_admin USING (true) WITH CHECK (true);
    FOREACH t IN ARRAY scoped LOOP
        EXECUTE format('DROP POLICY IF EXISTS token_projects ON %I', t);
        EXECUTE format('CREATE POLICY token_projects ON %I TO worktrack_api'
                       ' USING (project_id = ANY (worktrack_token_projects()))'
                       ' WITH CHECK (project_id = ANY (worktrack_token_projects()))', t);
        EXECUTE format('DROP POLICY IF EXISTS admin_token ON %I', t);
        EXECUTE format('CREATE POLICY admin_token ON %I TO worktrack_api_admin USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;
