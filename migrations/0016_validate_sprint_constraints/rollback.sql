-- Postgres cannot mark a constraint NOT VALID again; each constraint is put back as
-- 0013 left it (dropped and added again NOT VALID in one ALTER TABLE: a brief lock,
-- no scan). Task sprint ids that 0016 cleared named no sprint; they are not brought back.
-- squawk-disable-assume-in-transaction
-- squawk-ignore-file ban-drop-constraint -- each constraint is added again in the same statement
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE tasks DROP CONSTRAINT IF EXISTS fk_tasks_sprint,
    ADD CONSTRAINT fk_tasks_sprint FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_team_count_is_integer,
    ADD CONSTRAINT chk_sprint_analyses_team_count_is_integer
        CHECK ((discipline_breakdown ->> 'team_count') ~ '^-?[0-9]{1,9}$') NOT VALID;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_json_shapes,
    ADD CONSTRAINT chk_sprint_analyses_json_shapes
        CHECK (jsonb_typeof(discipline_breakdown) = 'object' AND jsonb_typeof(issue_details) = 'array') NOT VALID;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_issues,
    ADD CONSTRAINT chk_sprint_analyses_issues
        CHECK (total_issues >= 0 AND completed_issues >= 0 AND completed_issues <= total_issues) NOT VALID;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS chk_sprint_analyses_points,
    ADD CONSTRAINT chk_sprint_analyses_points
        CHECK (total_story_points >= 0 AND completed_story_points >= 0
               AND completed_story_points <= total_story_points) NOT VALID;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS fk_sprint_analyses_project,
    ADD CONSTRAINT fk_sprint_analyses_project
        FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE sprint_analyses DROP CONSTRAINT IF EXISTS fk_sprint_analyses_sprint,
    ADD CONSTRAINT fk_sprint_analyses_sprint
        FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_name_not_blank,
    ADD CONSTRAINT chk_sprints_name_not_blank CHECK (btrim(name) <> '') NOT VALID;
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_dates_in_order,
    ADD CONSTRAINT chk_sprints_dates_in_order CHECK (end_date >= start_date) NOT VALID;
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_state,
    ADD CONSTRAINT chk_sprints_state CHECK (state IN ('future', 'active', 'closed')) NOT VALID;
