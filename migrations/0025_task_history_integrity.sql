-- depends: 0024_idempotency_keys
-- Task history that no ordinary statement can erase or forge:
-- * a task's (project_id, id) never changes, so "the task is gone" (the only
--   case in which task_history_refuse_change lets a history row go) means the
--   task was deleted, and a history row cannot be orphaned by moving its task;
-- * TRUNCATE of tasks or task_history is refused (it fires no row triggers);
-- * history rows are written by the tasks trigger, which stamps the time and
--   the writing transaction; a direct INSERT is refused unless the transaction
--   says it imports past history (worktrack.history_import = on; seeds and
--   imports are run by the schema owner, the API's role cannot insert at all);
-- * transaction_id (xid8) is the writing transaction, which the activity feed's
--   poll tokens compare with snapshots: "committed since" without clock races.
-- The new column is nullable without a default: no table rewrite; rows written
-- before it have none and lie before every poll token.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE task_history ADD COLUMN IF NOT EXISTS transaction_id xid8;

CREATE OR REPLACE FUNCTION tasks_refuse_identity_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.project_id <> OLD.project_id OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'task % cannot change its project or id', OLD.key
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_tasks_identity_unchanged',
                  TABLE = 'tasks',
                  HINT = 'create the task in the other project and delete this one';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_tasks_identity_unchanged
    BEFORE UPDATE OF project_id, id ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_refuse_identity_change();

CREATE OR REPLACE FUNCTION task_history_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE % refused: task history leaves only with its task', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation',
              CONSTRAINT = 'chk_task_history_append_only',
              TABLE = TG_TABLE_NAME,
              HINT = 'DELETE the tasks (or their project) instead';
END;
$$;

CREATE OR REPLACE TRIGGER trg_tasks_refuse_truncate
    BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION task_history_refuse_truncate();
CREATE OR REPLACE TRIGGER trg_task_history_refuse_truncate
    BEFORE TRUNCATE ON task_history
    FOR EACH STATEMENT EXECUTE FUNCTION task_history_refuse_truncate();
-- Sprint membership history is append-only the same way.
CREATE OR REPLACE TRIGGER trg_sprint_membership_events_refuse_truncate
    BEFORE TRUNCATE ON sprint_membership_events
    FOR EACH STATEMENT EXECUTE FUNCTION task_history_refuse_truncate();

-- Rows come from tasks_record_history (a trigger, so pg_trigger_depth() > 1
-- here), which always writes "now"; an import of past history may keep its own
-- times and actors. Either way the database stamps the writing transaction.
CREATE OR REPLACE FUNCTION task_history_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        -- now(), or the instant an import replays (worktrack.event_at, see 0022).
        NEW.changed_at := coalesce(nullif(current_setting('worktrack.event_at', true), '')::timestamptz, now());
    ELSIF coalesce(current_setting('worktrack.history_import', true), '') <> 'on' THEN
        RAISE EXCEPTION 'task history is written by the tasks trigger: direct INSERT refused'
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_task_history_written_by_trigger',
                  TABLE = 'task_history',
                  HINT = 'change the task''s status; an import of past history sets worktrack.history_import = on';
    END IF;
    NEW.transaction_id := pg_current_xact_id();
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_task_history_stamp
    BEFORE INSERT ON task_history
    FOR EACH ROW EXECUTE FUNCTION task_history_stamp();
