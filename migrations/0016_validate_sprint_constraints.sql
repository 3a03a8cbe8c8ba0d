-- depends: 0015_backfill_sprint_projects
-- transactional: false
-- squawk-disable-assume-in-transaction
-- Contract: validate the constraints 0013 added NOT VALID. VALIDATE scans the
-- table under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on,
-- and each runs on its own (hence transactional: false), so a failure keeps the
-- ones already validated and the file can simply be run again.
-- Fail fast instead of queueing behind a long lock; the scans may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

-- Task sprint ids that name no sprint (the API accepted any number before
-- fk_tasks_sprint existed) point at nothing: they are cleared, in batches.
DO $$
DECLARE
    cleared int;
BEGIN
    LOOP
        UPDATE tasks t SET sprint_id = NULL
         WHERE (t.project_id, t.id) IN (
                SELECT d.project_id, d.id FROM tasks d
                 WHERE d.sprint_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sprints s WHERE s.id = d.sprint_id)
                 LIMIT 5000);
        GET DIAGNOSTICS cleared = ROW_COUNT;
        COMMIT;
        EXIT WHEN cleared = 0;
    END LOOP;
END
$$;

-- Legacy rows that break a rule are not guessed at: the DBA is told which rule,
-- how many rows, and how to find them, before any validation runs.
DO $$
DECLARE
    report text := '';
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM sprints WHERE NOT (state IN ('future', 'active', 'closed'));
    IF n > 0 THEN report := report || format('; chk_sprints_state: %s sprint(s) with another state', n); END IF;
    SELECT count(*) INTO n FROM sprints WHERE end_date < start_date;
    IF n > 0 THEN report := report || format('; chk_sprints_dates_in_order: %s sprint(s) end before they start', n); END IF;
    SELECT count(*) INTO n FROM sprints WHERE btrim(name) = '';
    IF n > 0 THEN report := report || format('; chk_sprints_name_not_blank: %s sprint(s) without a name', n); END IF;
    SELECT count(*) INTO n FROM sprint_analyses a WHERE NOT EXISTS (SELECT 1 FROM sprints s WHERE s.id = a.sprint_id);
    IF n > 0 THEN report := report || format('; fk_sprint_analyses_sprint: %s analyses of a missing sprint', n); END IF;
    SELECT count(*) INTO n FROM sprint_analyses
     WHERE NOT (total_story_points >= 0 AND completed_story_points >= 0 AND completed_story_points <= total_story_points);
    IF n > 0 THEN report := report || format('; chk_sprint_analyses_points: %s analyses', n); END IF;
    SELECT count(*) INTO n FROM sprint_analyses
     WHERE NOT (total_issues >= 0 AND completed_issues >= 0 AND completed_issues <= total_issues);
    IF n > 0 THEN report := report || format('; chk_sprint_analyses_issues: %s analyses', n); END IF;
    SELECT count(*) INTO n FROM sprint_analyses
     WHERE NOT (jsonb_typeof(discipline_breakdown) = 'object' AND jsonb_typeof(issue_details) = 'array');
    IF n > 0 THEN report := report || format('; chk_sprint_analyses_json_shapes: %s analyses', n); END IF;
    SELECT count(*) INTO n FROM sprint_analyses WHERE (discipline_breakdown ->> 'team_count') !~ '^-?[0-9]{1,9}$';
    IF n > 0 THEN report := report || format('; chk_sprint_analyses_team_count_is_integer: %s analyses', n); END IF;
    IF report <> '' THEN
        RAISE EXCEPTION 'legacy rows break rules that are about to be validated: %', substr(report, 3)
            USING HINT = 'correct or remove those rows (each rule is in migrations/0013), then run this migration again';
    END IF;
END
$$;

-- Each validation is committed on its own; validating a valid constraint is a no-op.
DO $$
DECLARE
    rules constant text[][] := ARRAY[
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
    i int;
BEGIN
    FOR i IN 1 .. array_length(rules, 1) LOOP
        EXECUTE format('ALTER TABLE %I VALIDATE CONSTRAINT %I', rules[i][1], rules[i][2]);
        COMMIT;
    END LOOP;
END
$$;
