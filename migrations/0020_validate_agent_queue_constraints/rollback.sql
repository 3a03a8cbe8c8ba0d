-- squawk-ignore-file ban-drop-constraint -- a rollback drops only what its own migration created
-- Postgres cannot mark a constraint NOT VALID again; both are put back as 0018
-- left them (dropped and re-added NOT VALID), each a brief lock only.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE tasks DROP CONSTRAINT IF EXISTS chk_tasks_evidence_is_object;
ALTER TABLE tasks ADD CONSTRAINT chk_tasks_evidence_is_object
    CHECK (evidence IS NULL OR jsonb_typeof(evidence) = 'object') NOT VALID;
ALTER TABLE projects DROP CONSTRAINT IF EXISTS chk_projects_lease_seconds;
ALTER TABLE projects ADD CONSTRAINT chk_projects_lease_seconds
    CHECK (default_lease_seconds >= 1 AND default_lease_seconds <= max_lease_seconds
                   AND max_lease_seconds <= 86400) NOT VALID;
