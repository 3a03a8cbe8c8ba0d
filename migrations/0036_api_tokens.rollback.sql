-- squawk-ignore-file ban-drop-table -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE IF EXISTS api_token_projects;
DROP TABLE IF EXISTS api_tokens;
