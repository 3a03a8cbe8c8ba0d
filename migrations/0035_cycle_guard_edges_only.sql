-- depends: 0034_import_clock
-- The cycle guard checks new edges only. A status change flips is_satisfied on
-- the edges of the task it finishes or reopens; that changes no edge and cannot
-- close a cycle, so it is not refused under REPEATABLE READ (the snapshot a
-- status change with If-Match runs in) or SERIALIZABLE.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE OR REPLACE FUNCTION task_dependencies_refuse_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.task_id = NEW.depends_on_id THEN
        RETURN NEW;  -- a self edge is chk_task_dependencies_not_self's to refuse
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.project_id, NEW.task_id, NEW.depends_on_id)
                            = (OLD.project_id, OLD.task_id, OLD.depends_on_id) THEN
        RETURN NEW;  -- is_satisfied flipped by a status change: the edge itself is unchanged
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'add dependencies under READ COMMITTED, not %',
                        upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'the cycle check must see every edge committed before it; '
                         'a transaction snapshot taken earlier may not';
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
