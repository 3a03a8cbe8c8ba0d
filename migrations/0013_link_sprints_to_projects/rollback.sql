-- squawk-ignore-file ban-drop-column, ban-drop-constraint -- a rollback drops only what its own migration created
-- Undo 0013, one statement at a time (each committed; the file is safe to re-run).
-- squawk-disable-assume-in-transaction
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE tasks DROP CONSTRAINT IF EXISTS fk_tasks_sprint;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_team_count_is_integer;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_json_shapes;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_issues;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_points;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS fk_sprint_analyses_project;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS fk_sprint_analyses_sprint;
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_name_not_blank;
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_dates_in_order;
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_state;
ALTER TABLE sprint_analyses DROP COLUMN IF EXISTS project_id;
