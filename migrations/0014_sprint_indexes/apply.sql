-- Indexes on the big legacy tables, built CONCURRENTLY so that reads and writes go
-- on during the build. Run by 0014_sprint_indexes.py one statement at a time, each
-- committed (CONCURRENTLY cannot run inside a transaction); a failure keeps the
-- indexes already built, and running the migration again builds the rest (an
-- INVALID leftover of a failed build is dropped first). By hand:
-- psql -v ON_ERROR_STOP=1 -f migrations/0014_sprint_indexes/apply.sql
-- squawk-disable-assume-in-transaction
--
-- No lock_timeout: a concurrent build takes SHARE UPDATE EXCLUSIVE, which blocks
-- no read or write, and then waits by design for every transaction older than it
-- (a pg_dump, a long report); a lock timeout would cut it off there.
SET lock_timeout = 0;
SET statement_timeout = 0;

-- idx_sprint_analyses_team_count casts team_count to an integer: a legacy value
-- that is not a whole number would stop the build with a bare cast error, so such
-- rows are named first (the same rule as chk_sprint_analyses_team_count_is_integer).
DO $$
DECLARE
    n bigint;
    ids text;
BEGIN
    SELECT count(*), string_agg(id::text, ', ' ORDER BY id) FILTER (WHERE rn <= 5)
      INTO n, ids
      FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn
              FROM sprint_analyses
             WHERE (discipline_breakdown ->> 'team_count') !~ '^-?[0-9]{1,9}$') bad;
    IF n > 0 THEN
        RAISE EXCEPTION 'sprint_analyses: % row(s) break chk_sprint_analyses_team_count_is_integer (discipline_breakdown->>''team_count'' is not a whole number), ids %', n, ids
            USING HINT = 'correct or remove those rows, then run this migration again';
    END IF;
END
$$;

-- fk_sprint_analyses_sprint: a sprint's analyses, and the cascade when it is deleted.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sprint_analyses_sprint
    ON sprint_analyses (sprint_id, analysis_type);
-- fk_sprint_analyses_project: a project's analyses.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sprint_analyses_project
    ON sprint_analyses (project_id) WHERE project_id IS NOT NULL;
-- Analyses searched by discipline: discipline_breakdown @> '{"backend": ...}'.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sprint_analyses_discipline_breakdown
    ON sprint_analyses USING gin (discipline_breakdown jsonb_path_ops);
-- Analyses sorted or filtered by team count.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sprint_analyses_team_count
    ON sprint_analyses (((discipline_breakdown ->> 'team_count')::int));
-- The active sprints (few among many closed ones).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sprints_active
    ON sprints (start_date) WHERE state = 'active';
-- Sprints by state and date (lists, velocity over the last closed sprints).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sprints_state_dates
    ON sprints (state, end_date, start_date);
-- Sprints of a board.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sprints_jira_board
    ON sprints (jira_board_id) WHERE jira_board_id IS NOT NULL;
