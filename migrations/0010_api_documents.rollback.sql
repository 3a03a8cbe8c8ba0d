-- squawk-ignore-file ban-drop-function -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS task_history_json(task_history, text);
DROP FUNCTION IF EXISTS task_json(tasks);
DROP FUNCTION IF EXISTS feature_json(features);
DROP FUNCTION IF EXISTS epic_json(epics);
DROP FUNCTION IF EXISTS project_json(projects);
DROP FUNCTION IF EXISTS progress_json(bigint, bigint);
DROP FUNCTION IF EXISTS api_cursor(text[]);
