-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- The role itself stays: it belongs to the cluster and may hold grants in other
-- databases (DROP ROLE worktrack_api by hand once no database uses it).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM worktrack_api;
        REVOKE ALL ON SCHEMA public FROM worktrack_api;
    END IF;
END
$$;
ALTER FUNCTION tasks_record_history() RESET search_path;
ALTER FUNCTION tasks_record_history() SECURITY INVOKER;
ALTER FUNCTION tasks_record_sprint_membership() RESET search_path;
ALTER FUNCTION tasks_record_sprint_membership() SECURITY INVOKER;
