-- squawk-ignore-file ban-drop-function -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS set_updated_at();
