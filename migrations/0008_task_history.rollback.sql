-- squawk-ignore-file ban-drop-function, ban-drop-table -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TRIGGER IF EXISTS trg_tasks_record_history ON tasks;
DROP FUNCTION IF EXISTS tasks_record_history();
DROP TABLE IF EXISTS task_history;
DROP FUNCTION IF EXISTS task_history_refuse_change();
