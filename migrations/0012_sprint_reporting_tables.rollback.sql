-- squawk-ignore-file ban-drop-function, ban-drop-table -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE IF EXISTS sprint_queue_items;
DROP TABLE IF EXISTS team_capacities;
DROP TABLE IF EXISTS reports;
DROP TABLE IF EXISTS project_sprint_metrics;
DROP FUNCTION IF EXISTS project_sprint_metrics_require_active_association();
DROP TABLE IF EXISTS project_sprint_associations;
DROP TABLE IF EXISTS project_workstreams;
