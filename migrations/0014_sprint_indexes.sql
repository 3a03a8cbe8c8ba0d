-- depends: 0013_link_sprints_to_projects
-- transactional: false
-- squawk-disable-assume-in-transaction
-- Indexes on the big legacy tables, built CONCURRENTLY so that writes go on
-- during the build (CONCURRENTLY cannot run inside a transaction, hence the
-- directive above). A build that fails leaves an INVALID index behind, which IF
-- NOT EXISTS would then skip: the block below drops such leftovers first, so the
-- file can simply be run again.
-- Fail fast instead of queueing behind a long lock; the builds themselves may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DO $$
DECLARE
    leftover text;
BEGIN
    FOR leftover IN
        SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE NOT i.indisvalid AND c.relname = ANY (ARRAY[
             'idx_sprint_analyses_sprint', 'idx_sprint_analyses_project',
             'idx_sprint_analyses_discipline_breakdown', 'idx_sprint_analyses_team_count',
             'idx_sprints_active', 'idx_sprints_state_dates', 'idx_sprints_jira_board'])
    LOOP
        EXECUTE format('DROP INDEX %I', leftover);
    END LOOP;
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
