-- depends: 0046_sprint_freeze_not_public
-- Task history records which API token made each change (column `token`), beside
-- its actor. The actor is the agent a request names, or the token's name (README,
-- "Who may do what"); an agent's name is the caller's word, so a token of any
-- project role could name its change's agent "admin". The token is not: the one
-- place that checks it sets worktrack.token on every connection it hands out
-- (service/access.py), and the history's stamp trigger copies it. NULL for changes
-- made outside the API (SQL, the CLI, imports). Rows written before this have none.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- Nullable, no default: a catalog change, no rewrite of the history.
ALTER TABLE task_history ADD COLUMN IF NOT EXISTS token text;

CREATE OR REPLACE FUNCTION task_history_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        -- now(), or inside an import (import_begin) the instant it replays.
        NEW.changed_at := coalesce(import_event_time(), now());
    ELSIF coalesce(current_setting('worktrack.history_import', true), '') <> 'on' THEN
        RAISE EXCEPTION 'task history is written by the tasks trigger: direct INSERT refused'
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_task_history_written_by_trigger',
                  TABLE = 'task_history',
                  HINT = 'change the task''s status; an import of past history sets worktrack.history_import = on';
    END IF;
    NEW.transaction_id := pg_current_xact_id();
    NEW.token := nullif(current_setting('worktrack.token', true), '');
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION task_history_json(h task_history, task_key text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'task', task_key,
        'from_status', h.from_status,
        'to_status', h.to_status,
        'actor', h.actor,
        'token', h.token,
        'note', h.note,
        'evidence', h.evidence,
        'changed_at', h.changed_at)
$$;
