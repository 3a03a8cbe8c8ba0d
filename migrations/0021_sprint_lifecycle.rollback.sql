-- squawk-ignore-file ban-drop-column, ban-drop-constraint, ban-drop-function -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS sprint_close(bigint, bigint, timestamptz);
DROP FUNCTION IF EXISTS sprint_start(bigint, timestamptz, date);
DROP TRIGGER IF EXISTS trg_sprints_state_change ON sprints;
DROP FUNCTION IF EXISTS sprints_apply_state_change();
DROP FUNCTION IF EXISTS sprint_timezone(bigint, text);
DROP TRIGGER IF EXISTS trg_sprints_timezone_known ON sprints;
DROP TRIGGER IF EXISTS trg_project_workstreams_timezone_known ON project_workstreams;
DROP FUNCTION IF EXISTS require_known_timezone();
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_closed_after_start;
ALTER TABLE sprints DROP CONSTRAINT IF EXISTS chk_sprints_lifecycle_instants;
ALTER TABLE project_workstreams DROP COLUMN IF EXISTS timezone;
ALTER TABLE sprints DROP COLUMN IF EXISTS timezone;
ALTER TABLE sprints DROP COLUMN IF EXISTS completed_at;
ALTER TABLE sprints DROP COLUMN IF EXISTS activated_at;
