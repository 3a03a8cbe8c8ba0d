-- Dropped CONCURRENTLY, so reads and writes go on meanwhile.
-- squawk-disable-assume-in-transaction
-- Fail fast instead of queueing behind a long lock.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DROP INDEX CONCURRENTLY IF EXISTS idx_sprints_jira_board;
DROP INDEX CONCURRENTLY IF EXISTS idx_sprints_state_dates;
DROP INDEX CONCURRENTLY IF EXISTS idx_sprints_active;
DROP INDEX CONCURRENTLY IF EXISTS idx_sprint_analyses_team_count;
DROP INDEX CONCURRENTLY IF EXISTS idx_sprint_analyses_discipline_breakdown;
DROP INDEX CONCURRENTLY IF EXISTS idx_sprint_analyses_project;
DROP INDEX CONCURRENTLY IF EXISTS idx_sprint_analyses_sprint;
