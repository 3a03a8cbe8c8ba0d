-- Back to 0045: sprint_freeze() executable by PUBLIC again.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api_admin') THEN
        REVOKE EXECUTE ON FUNCTION sprint_freeze(bigint) FROM worktrack_api_admin;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION sprint_freeze(bigint) TO PUBLIC;
