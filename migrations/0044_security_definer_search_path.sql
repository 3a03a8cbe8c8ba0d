-- depends: 0043_token_projects_filter
-- The functions that run with their owner's rights name pg_temp last in their
-- search_path. Without it PostgreSQL searches the session's temporary schema
-- first for tables, so the API's role (which may create temporary tables, like
-- every role through PUBLIC) could create a temporary `task_history` with a
-- trigger of its own and have the history trigger, running as the owner, write
-- into it: the owner's rights for its trigger, and no history. With pg_temp named
-- last, an unqualified table is always the one in public (functions and operators
-- are never looked up in pg_temp). tests/test_trust.py tries the attack and checks
-- every SECURITY DEFINER function.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER FUNCTION tasks_record_history() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tasks_record_sprint_membership() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION sprint_freeze(bigint) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION import_begin(text) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION importing() SET search_path = pg_catalog, public, pg_temp;
