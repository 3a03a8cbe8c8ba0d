-- Postgres cannot mark a constraint NOT VALID again; the constraints are put back
-- as 0013 left them (dropped and re-added NOT VALID), each a brief lock only.
-- Task sprint ids that 0016 cleared named no sprint; they are not brought back.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DO $$
DECLARE
    validated constant text[][] := ARRAY[
        ['sprints', 'chk_sprints_state'],
        ['sprints', 'chk_sprints_dates_in_order'],
        ['sprints', 'chk_sprints_name_not_blank'],
        ['sprint_analyses', 'fk_sprint_analyses_sprint'],
        ['sprint_analyses', 'fk_sprint_analyses_project'],
        ['sprint_analyses', 'chk_sprint_analyses_points'],
        ['sprint_analyses', 'chk_sprint_analyses_issues'],
        ['sprint_analyses', 'chk_sprint_analyses_json_shapes'],
        ['sprint_analyses', 'chk_sprint_analyses_team_count_is_integer'],
        ['tasks', 'fk_tasks_sprint']
    ];
    definition text;
    i int;
BEGIN
    FOR i IN 1 .. array_length(validated, 1) LOOP
        SELECT pg_get_constraintdef(oid) INTO definition FROM pg_constraint
         WHERE conname = validated[i][2] AND conrelid = validated[i][1]::regclass AND convalidated;
        IF definition IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', validated[i][1], validated[i][2]);
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s NOT VALID',
                           validated[i][1], validated[i][2], definition);
        END IF;
    END LOOP;
END
$$;
