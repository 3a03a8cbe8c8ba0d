-- depends: 0007_task_status_transitions
-- Task history: one row for the creation of a task and one per status change,
-- written by a trigger in the same transaction, so no code path can forget it.
-- Rows are never changed (no updated_at); they go only with their task.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS task_history (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    project_id  bigint NOT NULL,
    task_id     bigint NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    actor       text NOT NULL,
    note        text,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT task_history_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT fk_task_history_task FOREIGN KEY (project_id, task_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE,
    CONSTRAINT chk_task_history_to_status CHECK (to_status IN
        ('pending', 'in_progress', 'blocked', 'in_review', 'completed', 'cancelled'))
);

-- A task's history, oldest first; also serves fk_task_history_task.
CREATE INDEX IF NOT EXISTS idx_task_history_project_task
    ON task_history (project_id, task_id, id);
-- The project's activity feed, newest first, polled with `since`.
CREATE INDEX IF NOT EXISTS idx_task_history_project_changed_at
    ON task_history (project_id, changed_at DESC, id DESC);

-- Who and why come from transaction-local settings the API sets
-- (worktrack.actor, worktrack.note); a direct UPDATE records the database user.
CREATE OR REPLACE FUNCTION tasks_record_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO task_history (project_id, task_id, from_status, to_status, actor, note)
    VALUES (NEW.project_id, NEW.id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
            NEW.status,
            coalesce(nullif(current_setting('worktrack.actor', true), ''), session_user),
            nullif(current_setting('worktrack.note', true), ''));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER trg_tasks_record_history
    AFTER INSERT OR UPDATE OF status ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_record_history();

-- History is append-only. A delete is let through only when the task itself is
-- already gone, which is how the cascade from tasks (and epics, projects) arrives.
CREATE OR REPLACE FUNCTION task_history_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (
        SELECT 1 FROM tasks WHERE project_id = OLD.project_id AND id = OLD.task_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'task history is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              CONSTRAINT = 'chk_task_history_append_only',
              TABLE = 'task_history';
END;
$$;

CREATE OR REPLACE TRIGGER trg_task_history_append_only
    BEFORE UPDATE OR DELETE ON task_history
    FOR EACH ROW EXECUTE FUNCTION task_history_refuse_change();
