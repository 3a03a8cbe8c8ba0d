-- Expand, step 2 of 3: analyses get a project (a nullable column: nothing is
-- rewritten) and the rules they lacked, added NOT VALID. The foreign keys also
-- take a brief lock on sprints and projects. One transaction, short lock_timeout,
-- retried by 0013_link_sprints_to_projects.py (see 1_sprints.sql).
-- squawk-disable-assume-in-transaction
-- squawk-ignore-file prefer-robust-stmts -- each constraint is added only when missing
BEGIN;
SET LOCAL lock_timeout = '250ms';
SET LOCAL statement_timeout = '60s';

ALTER TABLE sprint_analyses ADD COLUMN IF NOT EXISTS project_id bigint;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprint_analyses'::regclass AND conname = 'fk_sprint_analyses_sprint') THEN
        ALTER TABLE sprint_analyses ADD CONSTRAINT fk_sprint_analyses_sprint
            FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE CASCADE NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprint_analyses'::regclass AND conname = 'fk_sprint_analyses_project') THEN
        ALTER TABLE sprint_analyses ADD CONSTRAINT fk_sprint_analyses_project
            FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE SET NULL NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprint_analyses'::regclass AND conname = 'chk_sprint_analyses_points') THEN
        ALTER TABLE sprint_analyses ADD CONSTRAINT chk_sprint_analyses_points
            CHECK (total_story_points >= 0 AND completed_story_points >= 0
                   AND completed_story_points <= total_story_points) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprint_analyses'::regclass AND conname = 'chk_sprint_analyses_issues') THEN
        ALTER TABLE sprint_analyses ADD CONSTRAINT chk_sprint_analyses_issues
            CHECK (total_issues >= 0 AND completed_issues >= 0 AND completed_issues <= total_issues) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprint_analyses'::regclass AND conname = 'chk_sprint_analyses_json_shapes') THEN
        ALTER TABLE sprint_analyses ADD CONSTRAINT chk_sprint_analyses_json_shapes
            CHECK (jsonb_typeof(discipline_breakdown) = 'object' AND jsonb_typeof(issue_details) = 'array') NOT VALID;
    END IF;
    -- idx_sprint_analyses_team_count casts team_count to an integer.
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'sprint_analyses'::regclass AND conname = 'chk_sprint_analyses_team_count_is_integer') THEN
        ALTER TABLE sprint_analyses ADD CONSTRAINT chk_sprint_analyses_team_count_is_integer
            CHECK ((discipline_breakdown ->> 'team_count') ~ '^-?[0-9]{1,9}$') NOT VALID;
    END IF;
END
$$;
COMMIT;
