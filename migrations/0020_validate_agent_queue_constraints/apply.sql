-- squawk-disable-assume-in-transaction
-- Contract: validate the constraints 0018 added NOT VALID. Their columns are new
-- (defaults and NULLs only), so nothing can fail; VALIDATE scans under SHARE UPDATE
-- EXCLUSIVE, which lets reads and writes go on, and each runs on its own.
-- Fail fast instead of queueing behind a long lock; the scans may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

-- Validating a constraint that is already valid does nothing, so the file can be
-- run again as it is.
-- squawk-ignore prefer-robust-stmts
ALTER TABLE projects VALIDATE CONSTRAINT chk_projects_lease_seconds;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE tasks VALIDATE CONSTRAINT chk_tasks_evidence_is_object;
