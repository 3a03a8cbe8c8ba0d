-- squawk-ignore-file ban-drop-table -- only its own temporary tables are dropped
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
-- the rollback finds them.
--
-- Run by 0015_backfill_sprint_projects.py one statement at a time, each committed on
-- its own; a failure keeps what was committed and every statement skips what is
-- already done, so the migration completes when run again (by hand:
-- psql -v ON_ERROR_STOP=1 -f migrations/0015_backfill_sprint_projects/apply.sql).
-- Writers must never wait long on it: the tables are analyzed before they are
-- joined (so stale statistics cannot pick a plan that scans a big table per
-- batch), the analyses are updated in batches of their own rows by primary key, and
-- each batch of the UPDATE is committed apart from the inserts, so a row lock on an
-- analysis lasts one short batch.
-- squawk-disable-assume-in-transaction
-- Fail fast instead of queueing behind a long lock; the whole backfill may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

-- Fresh statistics for the legacy tables the statements below join (ANALYZE reads
-- a sample and blocks no read or write).
ANALYZE sprints;
ANALYZE sprint_analyses;

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

-- squawk-ignore require-concurrent-index-creation -- a temporary table: nobody else can see it
CREATE INDEX IF NOT EXISTS backfill_sprint_keys_sprint ON backfill_sprint_keys (sprint_id, ord);
-- squawk-ignore require-concurrent-index-creation -- a temporary table: nobody else can see it
CREATE INDEX IF NOT EXISTS backfill_sprint_keys_key ON backfill_sprint_keys ((lower(key)));
ANALYZE backfill_sprint_keys;

-- 1. Projects: when spellings differ only in case, the first in byte order names it.
INSERT INTO projects (key, name, metadata)
SELECT DISTINCT ON (lower(key)) key, key, '{"created_by": "0015_backfill_sprint_projects"}'::jsonb
  FROM backfill_sprint_keys
 ORDER BY lower(key), key COLLATE "C"
ON CONFLICT ((lower(key))) DO NOTHING;
ANALYZE projects;

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
ANALYZE project_workstreams;

-- 3. Associations, a batch of sprints at a time; a sprint that already has a
-- primary keeps it.
DO $$
DECLARE
    batch constant bigint := 5000;
    last_sprint bigint := 0;
    top_sprint bigint;
BEGIN
    SELECT coalesce(max(sprint_id), 0) INTO top_sprint FROM backfill_sprint_keys;
    WHILE last_sprint < top_sprint LOOP
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
        COMMIT;
        last_sprint := last_sprint + batch;
    END LOOP;
END
$$;
ANALYZE project_sprint_associations;

-- The project of each single-project sprint.
DROP TABLE IF EXISTS pg_temp.backfill_sprint_project;
CREATE TEMP TABLE backfill_sprint_project AS
SELECT k.sprint_id, p.id AS project_id
  FROM backfill_sprint_keys k
  JOIN projects p ON lower(p.key) = lower(k.key)
 WHERE k.keys_in_sprint = 1;
-- squawk-ignore require-concurrent-index-creation -- a temporary table: nobody else can see it
CREATE UNIQUE INDEX IF NOT EXISTS backfill_sprint_project_sprint ON backfill_sprint_project (sprint_id);
ANALYZE backfill_sprint_project;

-- 4. The project of analyses that have none, for single-project sprints: a batch of
-- analyses (by id) per transaction, so each row lock lasts one short batch.
DO $$
DECLARE
    batch constant bigint := 2000;
    last_id bigint;
    top_id bigint;
BEGIN
    SELECT coalesce(min(id), 1) - 1, coalesce(max(id), 0) INTO last_id, top_id FROM sprint_analyses;
    WHILE last_id < top_id LOOP
        UPDATE sprint_analyses a
           SET project_id = sp.project_id
          FROM backfill_sprint_project sp
         WHERE sp.sprint_id = a.sprint_id
           AND a.id > last_id AND a.id <= last_id + batch
           AND a.project_id IS NULL
           -- a row that breaks 0013's rules cannot be updated; 0016 reports it
           AND a.total_story_points >= a.completed_story_points AND a.completed_story_points >= 0
           AND a.total_issues >= a.completed_issues AND a.completed_issues >= 0
           AND jsonb_typeof(a.discipline_breakdown) = 'object' AND jsonb_typeof(a.issue_details) = 'array'
           AND coalesce((a.discipline_breakdown ->> 'team_count') ~ '^-?[0-9]{1,9}$', true);
        COMMIT;
        last_id := last_id + batch;
    END LOOP;
END
$$;
ANALYZE sprint_analyses;

-- 5. A baseline snapshot per sprint and project, from its latest analysis, a batch
-- of sprints at a time (this reads the analyses and locks none of them).
DO $$
DECLARE
    batch constant bigint := 2000;
    last_sprint bigint := 0;
    top_sprint bigint;
BEGIN
    SELECT coalesce(max(sprint_id), 0) INTO top_sprint FROM backfill_sprint_keys;
    WHILE last_sprint < top_sprint LOOP
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
ANALYZE project_sprint_metrics;

DROP TABLE IF EXISTS pg_temp.backfill_sprint_project;
DROP TABLE IF EXISTS pg_temp.backfill_sprint_keys;
