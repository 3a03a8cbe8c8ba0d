-- squawk-ignore-file ban-drop-function -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TRIGGER IF EXISTS trg_task_history_stamp ON task_history;
DROP FUNCTION IF EXISTS task_history_stamp();
DROP TRIGGER IF EXISTS trg_task_history_refuse_truncate ON task_history;
DROP TRIGGER IF EXISTS trg_sprint_membership_events_refuse_truncate ON sprint_membership_events;
DROP TRIGGER IF EXISTS trg_tasks_refuse_truncate ON tasks;
DROP FUNCTION IF EXISTS task_history_refuse_truncate();
DROP TRIGGER IF EXISTS trg_tasks_identity_unchanged ON tasks;
DROP FUNCTION IF EXISTS tasks_refuse_identity_change();
-- The column holds only what this migration's trigger wrote.
-- squawk-ignore ban-drop-column
ALTER TABLE task_history DROP COLUMN IF EXISTS transaction_id;
