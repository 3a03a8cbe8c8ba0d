-- squawk-ignore-file ban-drop-function, ban-drop-table -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE IF EXISTS task_dependencies;
DROP FUNCTION IF EXISTS task_dependencies_refuse_cycle();
