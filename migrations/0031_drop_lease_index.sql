-- depends: 0030_drop_pending_queue_index
-- transactional: false
-- squawk-disable-assume-in-transaction
-- Heartbeats are HOT updates: no index of tasks may name lease_expires_at (as a
-- key or in a predicate), or each heartbeat writes every index of the table,
-- two GIN among them. Lease reclaim finds expired leases among the project's
-- tasks in progress (idx_tasks_project_status), which are few: one per working
-- agent. Dropped CONCURRENTLY; the rollback builds it again.
SET lock_timeout = 0;
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_project_lease_expires_at;
