-- squawk-ignore-file ban-drop-constraint, ban-drop-function -- a rollback drops only what its own migration created
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TRIGGER IF EXISTS trg_task_dependencies_count_deleted ON task_dependencies;
DROP TRIGGER IF EXISTS trg_task_dependencies_count_updated ON task_dependencies;
DROP TRIGGER IF EXISTS trg_task_dependencies_count_inserted ON task_dependencies;
DROP FUNCTION IF EXISTS task_dependencies_count_unfinished();
DROP TRIGGER IF EXISTS trg_task_dependencies_set_satisfied ON task_dependencies;
DROP FUNCTION IF EXISTS task_dependencies_set_satisfied();
DROP TRIGGER IF EXISTS trg_tasks_update_dependents ON tasks;
DROP FUNCTION IF EXISTS tasks_update_dependents();
DROP TRIGGER IF EXISTS trg_tasks_unfinished_dependencies_kept ON tasks;
DROP FUNCTION IF EXISTS tasks_refuse_bookkeeping_change();
ALTER TABLE tasks RESET (fillfactor);
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS chk_tasks_in_progress_is_leased;
ALTER TABLE projects DROP CONSTRAINT IF EXISTS chk_projects_max_attempts_range;
-- These columns hold only what this migration's triggers kept.
-- squawk-ignore ban-drop-column
ALTER TABLE projects DROP COLUMN IF EXISTS max_attempts;
-- squawk-ignore ban-drop-column
ALTER TABLE tasks DROP COLUMN IF EXISTS unfinished_dependencies;
-- squawk-ignore ban-drop-column
ALTER TABLE task_dependencies DROP COLUMN IF EXISTS is_satisfied;

-- The functions as 0007, 0009 and 0018 left them.
CREATE OR REPLACE FUNCTION project_json(p projects) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'key', p.key,
        'name', p.name,
        'description', p.description,
        'is_active', p.is_active,
        'metadata', p.metadata,
        'default_lease_seconds', p.default_lease_seconds,
        'max_lease_seconds', p.max_lease_seconds,
        'created_at', p.created_at,
        'updated_at', p.updated_at)
$$;

CREATE OR REPLACE FUNCTION task_json(t tasks) RETURNS json
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    doc json;
BEGIN
    SELECT json_build_object(
               'key', t.key,
               'project', p.key,
               'epic', e.key,
               'feature', f.key,
               'sprint', t.sprint_id,
               'title', t.title,
               'description', t.description,
               'status', t.status,
               'priority', t.priority,
               'agent_type', t.agent_type,
               'generator_name', t.generator_name,
               'assignee', t.assignee_id,
               'claimed_by', t.claimed_by,
               'claimed_at', t.claimed_at,
               'lease_expires_at', t.lease_expires_at,
               'attempts', t.attempts,
               'inputs', t.inputs,
               'expected_outputs', t.expected_outputs,
               'context_notes', t.context_notes,
               'completion_notes', t.completion_notes,
               'blocked_reason', t.blocked_reason,
               'file_path', t.file_path,
               'story_points', t.story_points,
               'metadata', t.metadata,
               'depends_on', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_dependencies d
                      JOIN tasks other ON other.project_id = d.project_id AND other.id = d.depends_on_id
                     WHERE d.project_id = t.project_id AND d.task_id = t.id),
                   '[]'::json),
               'evidence', t.evidence,
               -- related links are stored in both directions: one probe of the
               -- primary key finds every link of the task.
               'related', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_links l
                      JOIN tasks other ON other.project_id = l.project_id AND other.id = l.linked_task_id
                     WHERE l.project_id = t.project_id AND l.task_id = t.id AND l.kind = 'related'),
                   '[]'::json),
               'discovered_from', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_links l
                      JOIN tasks other ON other.project_id = l.project_id AND other.id = l.linked_task_id
                     WHERE l.project_id = t.project_id AND l.task_id = t.id AND l.kind = 'discovered_from'),
                   '[]'::json),
               'created_at', t.created_at,
               'updated_at', t.updated_at,
               'started_at', t.started_at,
               'completed_at', t.completed_at)
      INTO doc
      FROM projects p
      LEFT JOIN features f ON f.project_id = t.project_id AND f.id = t.feature_id
      LEFT JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
     WHERE p.id = t.project_id;
    RETURN doc;
END;
$$;

CREATE OR REPLACE FUNCTION tasks_apply_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status = OLD.status THEN
            RETURN NEW;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM task_status_transitions
                        WHERE from_status = OLD.status AND to_status = NEW.status) THEN
            RAISE EXCEPTION 'task % cannot move from % to %', OLD.key, OLD.status, NEW.status
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'chk_tasks_status_transition',
                      TABLE = 'tasks', COLUMN = 'status';
        END IF;
        IF NEW.status = 'completed' THEN
            NEW.completed_at := now();
        END IF;
    ELSIF NEW.status = 'completed' THEN
        -- An import may bring the real completion time; otherwise it is now.
        NEW.completed_at := coalesce(NEW.completed_at, now());
    END IF;

    IF NEW.status <> 'completed' THEN
        NEW.completed_at := NULL;
    END IF;
    IF NEW.status = 'in_progress' THEN
        NEW.started_at := coalesce(NEW.started_at, now());
    ELSE
        NEW.lease_expires_at := NULL;
    END IF;
    IF NEW.status = 'pending' AND TG_OP = 'UPDATE' THEN
        NEW.claimed_by := NULL;
        NEW.claimed_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION task_dependencies_refuse_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.task_id = NEW.depends_on_id THEN
        RETURN NEW;  -- a self edge is chk_task_dependencies_not_self's to refuse
    END IF;
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'add dependencies under READ COMMITTED or SERIALIZABLE'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'REPEATABLE READ would check for cycles in a stale snapshot';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('task_dependencies', NEW.project_id));
    IF EXISTS (
        WITH RECURSIVE upstream (id) AS (
            SELECT NEW.depends_on_id
            UNION
            SELECT d.depends_on_id
              FROM task_dependencies d
              JOIN upstream u ON d.project_id = NEW.project_id AND d.task_id = u.id
        )
        SELECT 1 FROM upstream WHERE id = NEW.task_id
    ) THEN
        RAISE EXCEPTION 'dependency % -> % would close a cycle', NEW.task_id, NEW.depends_on_id
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_task_dependencies_acyclic',
                  TABLE = 'task_dependencies';
    END IF;
    RETURN NEW;
END;
$$;
