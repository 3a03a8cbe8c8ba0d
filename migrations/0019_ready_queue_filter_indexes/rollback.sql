-- squawk-disable-assume-in-transaction
-- Dropped CONCURRENTLY, so reads and writes go on meanwhile.
-- Fail fast instead of queueing behind a long lock.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_ready_queue_agent_type;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_ready_queue_feature;
