-- depends: 0015_backfill_sprint_projects
-- Contract: validate the constraints 0013 added NOT VALID. VALIDATE scans the
-- table under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on.
-- Task sprint ids that name no sprint (the API accepted any number before
-- fk_tasks_sprint existed) are cleared first, or validation would fail on them.
-- Fail fast instead of queueing behind a long lock; the scans may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

UPDATE tasks t SET sprint_id = NULL
 WHERE t.sprint_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sprints s WHERE s.id = t.sprint_id);

ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_state;
ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_dates_in_order;
ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_name_not_blank;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT fk_sprint_analyses_sprint;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT fk_sprint_analyses_project;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT chk_sprint_analyses_points;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT chk_sprint_analyses_issues;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT chk_sprint_analyses_json_shapes;
ALTER TABLE tasks VALIDATE CONSTRAINT fk_tasks_sprint;
