-- depends: 0028_task_ready_index
-- transactional: false
-- squawk-disable-assume-in-transaction
-- The activity feed's poll: a project's history by writing transaction
-- (transaction_id >= the token snapshot's xmin), in the order polls page
-- through it. Built CONCURRENTLY; see 0028 for the lock timeout and for why the
-- file is one statement after the SETs.
SET lock_timeout = 0;
SET statement_timeout = 0;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_task_history_project_transaction
    ON task_history (project_id, transaction_id, id) WHERE transaction_id IS NOT NULL;
