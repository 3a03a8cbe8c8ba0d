-- depends: 0045_forget_stored_token_secrets
-- sprint_freeze() stores a closed sprint's figures with its owner's rights, for
-- ever (the stored rows are append-only). Like every function it was executable by
-- PUBLIC, so any login of the database could freeze a closed sprint whose history
-- an import was still bringing in, and its report would keep the figures of that
-- moment. Only sprint_close() calls it: the schema owner (the demo seed, the
-- bench) and an admin token's connections (worktrack_api_admin) keep it.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

REVOKE EXECUTE ON FUNCTION sprint_freeze(bigint) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api_admin') THEN
        GRANT EXECUTE ON FUNCTION sprint_freeze(bigint) TO worktrack_api_admin;
    END IF;
END
$$;
