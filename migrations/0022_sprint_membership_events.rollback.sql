-- squawk-ignore-file ban-drop-function, ban-drop-table -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TRIGGER IF EXISTS trg_task_history_event_time ON task_history;
DROP TRIGGER IF EXISTS trg_tasks_status_event_time ON tasks;
DROP FUNCTION IF EXISTS tasks_take_event_time();
DROP FUNCTION IF EXISTS task_history_take_event_time();
DROP TRIGGER IF EXISTS trg_tasks_record_sprint_membership ON tasks;
DROP FUNCTION IF EXISTS tasks_record_sprint_membership();
DROP TABLE IF EXISTS sprint_membership_events;
DROP FUNCTION IF EXISTS sprint_membership_events_refuse_change();
