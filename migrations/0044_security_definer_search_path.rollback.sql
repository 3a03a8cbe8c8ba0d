-- Back to 0043: the search_path each function had (0032, 0034, 0040).
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER FUNCTION tasks_record_history() SET search_path = pg_catalog, public;
ALTER FUNCTION tasks_record_sprint_membership() SET search_path = pg_catalog, public;
ALTER FUNCTION sprint_freeze(bigint) SET search_path = pg_catalog, public;
ALTER FUNCTION import_begin(text) SET search_path = "$user", public;
ALTER FUNCTION importing() SET search_path = "$user", public;
