-- squawk-ignore-file ban-drop-function -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS sprint_queue_item_json(sprint_queue_items, text, text);
DROP FUNCTION IF EXISTS capacity_json(team_capacities);
DROP FUNCTION IF EXISTS report_json(reports, text);
DROP FUNCTION IF EXISTS sprint_metric_json(project_sprint_metrics);
DROP FUNCTION IF EXISTS sprint_workstream_json(project_sprint_associations, text, text);
DROP FUNCTION IF EXISTS workstream_json(project_workstreams, text);
DROP FUNCTION IF EXISTS sprint_analysis_json(sprint_analyses, text);
DROP FUNCTION IF EXISTS sprint_json(sprints);
DROP FUNCTION IF EXISTS user_json(users);
