-- depends: 0014_sprint_indexes
-- transactional: false
-- squawk-disable-assume-in-transaction
-- Backfill from the legacy sprints.jira_project_key (one key, or a comma-separated
-- list for meta-board sprints):
--   1. a project for each key (keys compared ignoring case and surrounding blanks;
--      blank entries and keys that are not valid project keys are skipped; when
--      spellings differ only in case, the first in byte order names the project),
--   2. an active workstream for each such project that has none (its board: the
--      one most of its single-project sprints came from, else any of its sprints'),
--   3. an association of each sprint with the workstream of each of its keys (the
--      first key's is primary unless the sprint already has a primary; the others
--      are secondary),
--   4. the project of each analysis without one, for sprints of a single project
--      (an analysis of a meta-board sprint covers several projects and keeps none;
--      one that breaks the rules 0013 added is left for 0016 to report),
--   5. a baseline metric snapshot per single-project sprint from its latest
--      analysis whose figures are consistent (completed within total, nothing
--      negative); it is dated at the sprint's end when closed, else at the analysis.
-- Rows it creates carry metadata {"created_by": "0015_backfill_sprint_projects"}, so
-- the rollback finds them. Writes go in batches of sprints, each committed on its
-- own (hence transactional: false) so no lock is held for long, and every step
-- skips what is already done: the file can be run again after a failure.
-- Fail fast instead of queueing behind a long lock; the whole backfill may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DROP TABLE IF EXISTS pg_temp.backfill_sprint_keys;

-- Each sprint's keys, in list order, once each (ignoring case), valid ones only,
-- with how many distinct keys the sprint names.
CREATE TEMP TABLE backfill_sprint_keys AS
SELECT sprint_id, ord, key, jira_board_id, count(*) OVER (PARTITION BY sprint_id) AS keys_in_sprint
  FROM (SELECT DISTINCT ON (s.id, lower(btrim(k.part)))
               s.id AS sprint_id, k.ord, btrim(k.part) AS key, s.jira_board_id
          FROM sprints s
         CROSS JOIN LATERAL unnest(string_to_array(s.jira_project_key, ',')) WITH ORDINALITY AS k (part, ord)
         WHERE btrim(k.part) ~ '^[A-Za-z][A-Za-z0-9_-]{0,99}$'
         ORDER BY s.id, lower(btrim(k.part)), k.ord) distinct_keys;

-- (CONCURRENTLY on a temporary table builds it the ordinary way: nobody else can see it.)
CREATE INDEX CONCURRENTLY IF NOT EXISTS backfill_sprint_keys_sprint ON backfill_sprint_keys (sprint_id, ord);
CREATE INDEX CONCURRENTLY IF NOT EXISTS backfill_sprint_keys_key ON backfill_sprint_keys ((lower(key)));
ANALYZE backfill_sprint_keys;

-- 1. Projects: when spellings differ only in case, the first in byte order names it.
INSERT INTO projects (key, name, metadata)
SELECT DISTINCT ON (lower(key)) key, key, '{"created_by": "0015_backfill_sprint_projects"}'::jsonb
  FROM backfill_sprint_keys
 ORDER BY lower(key), key COLLATE "C"
ON CONFLICT ((lower(key))) DO NOTHING;

-- 2. Workstreams.
INSERT INTO project_workstreams (project_id, name, jira_board_id, workstream_type, metadata)
SELECT p.id, p.key || ' board',
       (SELECT k.jira_board_id
          FROM backfill_sprint_keys k
         WHERE lower(k.key) = lower(p.key) AND k.jira_board_id IS NOT NULL
         GROUP BY k.jira_board_id
         ORDER BY count(*) FILTER (WHERE k.keys_in_sprint = 1) DESC, count(*) DESC, k.jira_board_id
         LIMIT 1),
       'standard', '{"created_by": "0015_backfill_sprint_projects"}'::jsonb
  FROM projects p
 WHERE EXISTS (SELECT 1 FROM backfill_sprint_keys k WHERE lower(k.key) = lower(p.key))
   AND NOT EXISTS (SELECT 1 FROM project_workstreams w WHERE w.project_id = p.id AND w.is_active);

-- 3-5, a batch of sprints at a time.
DO $$
DECLARE
    batch constant bigint := 5000;
    last_sprint bigint := 0;
    top_sprint bigint;
BEGIN
    SELECT coalesce(max(sprint_id), 0) INTO top_sprint FROM backfill_sprint_keys;
    WHILE last_sprint < top_sprint LOOP
        -- 3. Associations; a sprint that already has a primary keeps it.
        INSERT INTO project_sprint_associations (sprint_id, workstream_id, association_type)
        SELECT k.sprint_id, w.id,
               CASE WHEN k.ord = min(k.ord) OVER (PARTITION BY k.sprint_id)
                         AND NOT EXISTS (SELECT 1 FROM project_sprint_associations x
                                          WHERE x.sprint_id = k.sprint_id AND x.association_type = 'primary')
                    THEN 'primary' ELSE 'secondary' END
          FROM backfill_sprint_keys k
          JOIN projects p ON lower(p.key) = lower(k.key)
          JOIN project_workstreams w ON w.project_id = p.id AND w.is_active
         WHERE k.sprint_id > last_sprint AND k.sprint_id <= last_sprint + batch
         ORDER BY k.sprint_id, k.ord
        ON CONFLICT (sprint_id, workstream_id) DO NOTHING;

        -- 4. The project of analyses that have none, for single-project sprints.
        UPDATE sprint_analyses a
           SET project_id = p.id
          FROM backfill_sprint_keys k
          JOIN projects p ON lower(p.key) = lower(k.key)
         WHERE k.sprint_id = a.sprint_id AND k.keys_in_sprint = 1
           AND a.project_id IS NULL
           AND a.sprint_id > last_sprint AND a.sprint_id <= last_sprint + batch
           -- a row that breaks 0013's rules cannot be updated; 0016 reports it
           AND a.total_story_points >= a.completed_story_points AND a.completed_story_points >= 0
           AND a.total_issues >= a.completed_issues AND a.completed_issues >= 0
           AND jsonb_typeof(a.discipline_breakdown) = 'object' AND jsonb_typeof(a.issue_details) = 'array'
           AND coalesce((a.discipline_breakdown ->> 'team_count') ~ '^-?[0-9]{1,9}$', true);

        -- 5. A baseline snapshot per sprint and project, from its latest analysis.
        INSERT INTO project_sprint_metrics (
            sprint_id, workstream_id, snapshot_at, issues_total, issues_completed,
            story_points_total, story_points_completed, completion_percent,
            discipline_breakdown, metadata)
        SELECT DISTINCT ON (a.sprint_id, psa.workstream_id)
               a.sprint_id, psa.workstream_id,
               CASE WHEN s.state = 'closed' THEN coalesce(s.end_date::timestamptz, a.created_at)
                    ELSE a.created_at END,
               a.total_issues, a.completed_issues,
               a.total_story_points, a.completed_story_points,
               round(100.0 * a.completed_story_points / nullif(a.total_story_points, 0), 2),
               a.discipline_breakdown,
               jsonb_build_object('created_by', '0015_backfill_sprint_projects', 'analysis_id', a.id)
          FROM sprint_analyses a
          JOIN sprints s ON s.id = a.sprint_id
          JOIN project_workstreams w ON w.project_id = a.project_id AND w.is_active
          JOIN project_sprint_associations psa
            ON psa.sprint_id = a.sprint_id AND psa.workstream_id = w.id AND psa.is_active
         WHERE a.sprint_id > last_sprint AND a.sprint_id <= last_sprint + batch
           AND a.total_issues >= a.completed_issues AND a.completed_issues >= 0
           AND a.total_story_points >= a.completed_story_points AND a.completed_story_points >= 0
           AND jsonb_typeof(a.discipline_breakdown) = 'object'
           AND NOT EXISTS (
                SELECT 1 FROM project_sprint_metrics m
                 WHERE m.sprint_id = a.sprint_id AND m.workstream_id = psa.workstream_id
                   AND m.metadata ->> 'created_by' = '0015_backfill_sprint_projects')
         ORDER BY a.sprint_id, psa.workstream_id, a.created_at DESC, a.id DESC
        ON CONFLICT DO NOTHING;

        COMMIT;
        last_sprint := last_sprint + batch;
    END LOOP;
END
$$;

DROP TABLE IF EXISTS pg_temp.backfill_sprint_keys;
