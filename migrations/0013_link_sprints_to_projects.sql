-- depends: 0012_sprint_reporting_tables
-- Expand: analyses get a project, and sprints, analyses and tasks get the rules
-- the legacy tables lacked. Everything is added NOT VALID, which takes a brief
-- lock and checks new writes only; 0016 validates the existing rows without
-- blocking writes. The new column is nullable, so adding it rewrites nothing.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE sprint_analyses ADD COLUMN IF NOT EXISTS project_id bigint;

-- Postgres has no ADD CONSTRAINT IF NOT EXISTS: each is added only when missing.
DO $$
DECLARE
    wanted constant text[][] := ARRAY[
        ['sprints', 'chk_sprints_state',
         'CHECK (state IN (''future'', ''active'', ''closed''))'],
        ['sprints', 'chk_sprints_dates_in_order',
         'CHECK (end_date >= start_date)'],
        ['sprints', 'chk_sprints_name_not_blank',
         'CHECK (btrim(name) <> '''')'],
        ['sprint_analyses', 'fk_sprint_analyses_sprint',
         'FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE CASCADE'],
        ['sprint_analyses', 'fk_sprint_analyses_project',
         'FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE SET NULL'],
        ['sprint_analyses', 'chk_sprint_analyses_points',
         'CHECK (total_story_points >= 0 AND completed_story_points >= 0'
         ' AND completed_story_points <= total_story_points)'],
        ['sprint_analyses', 'chk_sprint_analyses_issues',
         'CHECK (total_issues >= 0 AND completed_issues >= 0 AND completed_issues <= total_issues)'],
        ['sprint_analyses', 'chk_sprint_analyses_json_shapes',
         'CHECK (jsonb_typeof(discipline_breakdown) = ''object'' AND jsonb_typeof(issue_details) = ''array'')'],
        -- idx_sprint_analyses_team_count casts team_count to an integer.
        ['sprint_analyses', 'chk_sprint_analyses_team_count_is_integer',
         'CHECK ((discipline_breakdown ->> ''team_count'') ~ ''^-?[0-9]{1,9}$'')'],
        ['tasks', 'fk_tasks_sprint',
         'FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE SET NULL']
    ];
    i int;
BEGIN
    FOR i IN 1 .. array_length(wanted, 1) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_constraint
                        WHERE conname = wanted[i][2] AND conrelid = wanted[i][1]::regclass) THEN
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s NOT VALID',
                           wanted[i][1], wanted[i][2], wanted[i][3]);
        END IF;
    END LOOP;
END
$$;
