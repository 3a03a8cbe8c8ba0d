-- Contract: validate the constraints 0013 added NOT VALID. VALIDATE scans the
-- table under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on.
-- Run by 0016_validate_sprint_constraints.py one statement at a time, each
-- committed on its own: a failure keeps the constraints already validated, and the
-- migration completes when run again (validating a valid constraint is a no-op).
-- By hand: psql -v ON_ERROR_STOP=1 -f migrations/0016_validate_sprint_constraints/apply.sql
-- squawk-disable-assume-in-transaction
-- squawk-ignore-file prefer-robust-stmts -- VALIDATE of a valid constraint is a no-op, so the file can be run again
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

-- Legacy rows that break a rule are not guessed at: the DBA is told the table, the
-- rule, how many rows and the first ids, before any validation runs.
DO $$
DECLARE
    -- table, rule, the rows that break it, what is wrong with them
    rules constant text[][] := ARRAY[
        ['sprints', 'chk_sprints_state',
         'NOT (state IN (''future'', ''active'', ''closed''))', 'another state'],
        ['sprints', 'chk_sprints_dates_in_order', 'end_date < start_date', 'ends before it starts'],
        ['sprints', 'chk_sprints_name_not_blank', 'btrim(name) = ''''', 'no name'],
        ['sprint_analyses', 'fk_sprint_analyses_sprint',
         'NOT EXISTS (SELECT 1 FROM sprints s WHERE s.id = t.sprint_id)', 'a missing sprint'],
        ['sprint_analyses', 'fk_sprint_analyses_project',
         'project_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = t.project_id)',
         'a missing project'],
        ['sprint_analyses', 'chk_sprint_analyses_points',
         'NOT (total_story_points >= 0 AND completed_story_points >= 0'
         ' AND completed_story_points <= total_story_points)', 'points negative or completed over total'],
        ['sprint_analyses', 'chk_sprint_analyses_issues',
         'NOT (total_issues >= 0 AND completed_issues >= 0 AND completed_issues <= total_issues)',
         'issues negative or completed over total'],
        ['sprint_analyses', 'chk_sprint_analyses_json_shapes',
         'NOT (jsonb_typeof(discipline_breakdown) = ''object'' AND jsonb_typeof(issue_details) = ''array'')',
         'discipline_breakdown not an object or issue_details not an array'],
        ['sprint_analyses', 'chk_sprint_analyses_team_count_is_integer',
         '(discipline_breakdown ->> ''team_count'') !~ ''^-?[0-9]{1,9}$''', 'team_count not a whole number']
    ];
    report text := '';
    n bigint;
    ids text;
    i int;
BEGIN
    FOR i IN 1 .. array_length(rules, 1) LOOP
        EXECUTE format('SELECT count(*), string_agg(id::text, '', '' ORDER BY id) FILTER (WHERE rn <= 5)'
                       ' FROM (SELECT t.id, row_number() OVER (ORDER BY t.id) AS rn FROM %I t WHERE %s) bad',
                       rules[i][1], rules[i][3])
           INTO n, ids;
        IF n > 0 THEN
            report := report || format('; %s: %s row(s) break %s (%s), ids %s%s',
                                       rules[i][1], n, rules[i][2], rules[i][4], ids,
                                       CASE WHEN n > 5 THEN ', ...' ELSE '' END);
        END IF;
    END LOOP;
    IF report <> '' THEN
        RAISE EXCEPTION 'legacy rows break rules that are about to be validated: %', substr(report, 3)
            USING HINT = 'correct or remove those rows (each rule is in migrations/0013_link_sprints_to_projects), then run this migration again';
    END IF;
END
$$;

ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_state;
ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_dates_in_order;
ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_name_not_blank;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT fk_sprint_analyses_sprint;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT fk_sprint_analyses_project;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT chk_sprint_analyses_points;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT chk_sprint_analyses_issues;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT chk_sprint_analyses_json_shapes;
ALTER TABLE sprint_analyses VALIDATE CONSTRAINT chk_sprint_analyses_team_count_is_integer;
ALTER TABLE tasks VALIDATE CONSTRAINT fk_tasks_sprint;
