-- depends: 0026_task_readiness_and_leases
-- Contract: validate the CHECK that 0026 added NOT VALID (0026 gave every task
-- in progress an owner and a lease). VALIDATE scans tasks under SHARE UPDATE
-- EXCLUSIVE, so reads and writes go on while it runs.
-- Fail fast instead of queueing behind a long lock; the scan may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

ALTER TABLE tasks VALIDATE CONSTRAINT chk_tasks_in_progress_is_leased;
