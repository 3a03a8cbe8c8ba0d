-- depends: 0029_task_history_poll_index
-- transactional: false
-- squawk-disable-assume-in-transaction
-- Contract: idx_tasks_ready (0028) replaces idx_tasks_ready_queue, which also
-- held the pending tasks that wait on others. Dropped CONCURRENTLY so that
-- reads and writes go on. The rollback builds it again.
SET lock_timeout = 0;
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_ready_queue;
